namespace ParticleGrid.Storage;

/// <summary>
/// Keyset pages: the same filters as <see cref="QueryParticlesAsync"/>, then the primary key compared as a row value,
/// which both SQLite and PostgreSQL answer from the (run_id, particle_id) index.
/// </summary>
/// <remarks>
/// The filters are written out again here rather than shared, because the offset query's file is being rewritten
/// (issue 16, the store by concern); once it is, both should build their WHERE clause from <see cref="Filter"/>.
/// </remarks>
public sealed partial class SqlParticleStore : IParticlePages
{
    public async Task<ParticlePage> QueryParticlesAfterAsync(ParticleQuery query, ParticleKey after, CancellationToken cancellation = default)
    {
        var (conditions, parameters) = Filter(query);
        string where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        await using var connection = await OpenAsync(cancellation);

        int total;
        await using (var count = connection.CreateCommand())
        {
            count.CommandText = $"SELECT COUNT(*) FROM particles p {where}";
            foreach (var (name, value) in parameters) Add(count, name, value);
            total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellation));
        }

        var particles = new List<ReviewedParticle>();
        if (query.Limit > 0)
        {
            await using var page = connection.CreateCommand();
            conditions.Add("(p.run_id, p.particle_id) > (@afterrun, @afterparticle)");
            page.CommandText = $"SELECT {ParticleColumns}, {LatestLabel} FROM particles p WHERE {string.Join(" AND ", conditions)} ORDER BY p.run_id, p.particle_id LIMIT @limit";
            foreach (var (name, value) in parameters) Add(page, name, value);
            Add(page, "afterrun", after.RunId);
            Add(page, "afterparticle", after.ParticleId);
            Add(page, "limit", query.Limit);
            await using var reader = await page.ExecuteReaderAsync(cancellation);
            while (await reader.ReadAsync(cancellation)) particles.Add(new ReviewedParticle(ReadParticle(reader), NullableString(reader, 19)));
        }
        return new ParticlePage(total, particles);
    }

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
