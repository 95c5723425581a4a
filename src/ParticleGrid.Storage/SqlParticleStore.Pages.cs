namespace ParticleGrid.Storage;

/// <summary>
/// Particle pages, by offset (<see cref="QueryParticlesAsync"/>) or by cursor: the same filters, then either OFFSET or
/// the primary key compared as a row value, which both SQLite and PostgreSQL answer from the (run_id, particle_id)
/// index however deep the page. The total counts every particle the filters match, whichever way is used.
/// </summary>
public sealed partial class SqlParticleStore : IParticlePages
{
    public Task<ParticlePage> QueryParticlesAfterAsync(ParticleQuery query, ParticleKey after, CancellationToken cancellation = default) =>
        QueryPageAsync(query, after, cancellation);

    private async Task<ParticlePage> QueryPageAsync(ParticleQuery query, ParticleKey? after, CancellationToken cancellation)
    {
        var (conditions, parameters) = Filter(query);
        await using var connection = await OpenAsync(cancellation);

        int total;
        await using (var count = connection.CreateCommand())
        {
            count.CommandText = $"SELECT COUNT(*) FROM particles p {Where(conditions)}";
            foreach (var (name, value) in parameters) Add(count, name, value);
            total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellation));
        }

        var particles = new List<ReviewedParticle>();
        if (query.Limit > 0)
        {
            await using var page = connection.CreateCommand();
            foreach (var (name, value) in parameters) Add(page, name, value);
            Add(page, "limit", query.Limit);
            string window;
            if (after is { } key)
            {
                conditions.Add("(p.run_id, p.particle_id) > (@afterrun, @afterparticle)");
                Add(page, "afterrun", key.RunId);
                Add(page, "afterparticle", key.ParticleId);
                window = "LIMIT @limit";
            }
            else
            {
                Add(page, "offset", query.Offset);
                window = "LIMIT @limit OFFSET @offset";
            }
            page.CommandText = $"SELECT {ParticleColumns}, {LatestLabel} FROM particles p {Where(conditions)} ORDER BY p.run_id, p.particle_id {window}";
            await using var reader = await page.ExecuteReaderAsync(cancellation);
            while (await reader.ReadAsync(cancellation)) particles.Add(new ReviewedParticle(ReadParticle(reader), NullableString(reader, 19)));
        }
        return new ParticlePage(total, particles);
    }

    private static string Where(List<string> conditions) => conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);

    /// <summary>A particle query's conditions on particles p, and their parameters.</summary>
    private static (List<string> Conditions, List<(string Name, object? Value)> Parameters) Filter(ParticleQuery q)
    {
        var conditions = new List<string>();
        var parameters = new List<(string, object?)>();
        void Where(string condition, string name, object? value)
        {
            conditions.Add(condition);
            parameters.Add((name, value));
        }
        if (q.RunId is not null) Where("p.run_id = @run", "run", q.RunId);
        if (q.LotId is not null) Where("p.lot_id = @lot", "lot", q.LotId);
        if (q.Type == Domain.LotProfiles.Unclassified) conditions.Add($"COALESCE({LatestLabel}, p.particle_type) IS NULL");
        else if (q.Type is not null) Where($"COALESCE({LatestLabel}, p.particle_type) = @type", "type", q.Type);
        if (q.MinEcdMicrometres is not null) Where("p.ecd_um >= @minecd", "minecd", q.MinEcdMicrometres);
        if (q.MaxEcdMicrometres is not null) Where("p.ecd_um <= @maxecd", "maxecd", q.MaxEcdMicrometres);
        if (q.Uncertain is not null) Where("p.uncertain = @uncertain", "uncertain", q.Uncertain.Value ? 1 : 0);
        if (q.Reviewed is true) conditions.Add($"{LatestLabel} IS NOT NULL");
        if (q.Reviewed is false) conditions.Add($"{LatestLabel} IS NULL");
        if (q.UnreviewedUncertainOnly) conditions.Add($"p.uncertain = 1 AND p.failure IS NULL AND {LatestLabel} IS NULL");
        return (conditions, parameters);
    }
}
