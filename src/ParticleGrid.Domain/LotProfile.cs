namespace ParticleGrid.Domain;

/// <summary>One particle as a lot profile counts it.</summary>
/// <param name="Type">The type the ensemble voted for; null when the particle could not be classified (it failed).</param>
/// <param name="EcdMicrometres">Equivalent circular diameter; null when the instrument gave none.</param>
/// <param name="IsUncertain">The vote was below the confidence threshold or the networks disagreed (and nobody has reviewed it).</param>
/// <param name="IsReviewed">A reviewer confirmed or relabelled it; <paramref name="Type"/> is then the reviewer's label.</param>
public readonly record struct CountedParticle(ParticleType? Type, double? EcdMicrometres, bool IsUncertain, bool IsReviewed = false);

/// <summary>Particles at or above one size edge.</summary>
/// <param name="AtOrAboveMicrometres">The size class's lower edge (see <see cref="SizeBins"/>).</param>
/// <param name="Count">Particles seen in the analysed volume.</param>
/// <param name="PerMl">Count divided by the analysed volume; null when that volume is unknown.</param>
/// <param name="PerContainer">Per mL times the container volume; null when either is unknown.</param>
public sealed record SizeClassCount(double AtOrAboveMicrometres, int Count, double? PerMl, double? PerContainer);

/// <summary>The counts of one particle type (or of a total) in every size class.</summary>
/// <param name="Type">A folder-style name: "bubble", "silicone_oil", "glass", "protein", "unclassified", or a total's name.</param>
/// <param name="CountsAsParticle">False for air bubbles: artefacts of handling, kept out of particle totals.</param>
/// <param name="Count">All particles of this type, sized or not.</param>
/// <param name="Uncertain">Of those, how many a reviewer should check.</param>
/// <param name="SizeClasses">One entry per <see cref="SizeBins.LowerEdgesMicrometres"/>.</param>
public sealed record TypeProfile(string Type, bool CountsAsParticle, int Count, int Uncertain, IReadOnlyList<SizeClassCount> SizeClasses);

/// <summary>
/// What QA reads for a lot: per particle type and size class the counts, per mL and per container; totals with
/// bubbles kept out, and with silicone oil kept apart from protein and glass; the compendial verdict.
/// </summary>
public sealed record LotProfile(
    string Lot,
    int Runs,
    double? AnalysedVolumeMl,
    double? ContainerVolumeMl,
    int Particles,
    int Uncertain,
    int Failed,
    int WithoutSize,
    int Reviewed,
    IReadOnlyList<TypeProfile> Types,
    TypeProfile ParticlesExcludingBubbles,
    TypeProfile ParticlesExcludingBubblesAndSiliconeOil,
    CompendialVerdict Verdict,
    int RunsInProgress = 0,
    IReadOnlyList<DomainShiftCheck>? DomainShift = null)
{
    /// <summary><see cref="Domain.DomainShift.Message"/> while any run of the lot is in alarm, else null.</summary>
    public string? DomainShiftAlarm => DomainShift?.Any(c => c.Alarm) == true ? Domain.DomainShift.Message : null;
}

/// <summary>Builds <see cref="LotProfile"/>s from classified particles. Pure: the same particles give the same profile.</summary>
public static class LotProfiles
{
    public const string Unclassified = "unclassified";
    public const string AllParticles = "all_particles";
    public const string AllParticlesExceptSiliconeOil = "all_particles_except_silicone_oil";

    /// <summary>Profiles one lot from its particles (tallied first: see the overload that takes a <see cref="LotTally"/>).</summary>
    /// <param name="lot">The lot's name.</param>
    /// <param name="runs">How many instrument runs fed it.</param>
    /// <param name="particles">Every particle of the lot's runs.</param>
    /// <param name="analysedVolumeMl">The sample volume the instruments analysed, summed over runs (null or 0: unknown).</param>
    /// <param name="containerVolumeMl">The fill volume of one container (null: unknown).</param>
    /// <param name="runsInProgress">Of the runs, how many are not completed yet (their counts are not final).</param>
    /// <param name="policy">The site's verdict settings (null: the defaults).</param>
    /// <param name="shift">Each run's particles per model set, to compare with the set's training data (null: none known).</param>
    public static LotProfile Compute(string lot, int runs, IEnumerable<CountedParticle> particles, double? analysedVolumeMl, double? containerVolumeMl,
        int runsInProgress = 0, VerdictPolicy? policy = null, IEnumerable<DomainShiftCounts>? shift = null)
    {
        ArgumentNullException.ThrowIfNull(particles);
        return Compute(lot, runs, LotTally.Of(particles), analysedVolumeMl, containerVolumeMl, runsInProgress, policy, shift);
    }

    /// <summary>
    /// Profiles one lot from its tally: the particles counted by type, size class, uncertain and reviewed. This is all a
    /// profile reads of the particles, so a store that keeps the tally as particles arrive profiles a lot of any size in
    /// the same time.
    /// </summary>
    public static LotProfile Compute(string lot, int runs, LotTally tally, double? analysedVolumeMl, double? containerVolumeMl,
        int runsInProgress = 0, VerdictPolicy? policy = null, IEnumerable<DomainShiftCounts>? shift = null)
    {
        ArgumentNullException.ThrowIfNull(tally);
        policy ??= new VerdictPolicy();
        var checks = (shift ?? []).Select(c => Domain.DomainShift.Assess(c, policy.DomainShift)).ToList();
        if (analysedVolumeMl is <= 0 || analysedVolumeMl is double a && !double.IsFinite(a)) analysedVolumeMl = null;
        if (containerVolumeMl is <= 0 || containerVolumeMl is double c && !double.IsFinite(c)) containerVolumeMl = null;

        var cells = tally.Cells.Where(cell => cell.Value > 0).ToList();
        int Sum(Func<LotTallyCell, bool> selects) => cells.Where(cell => selects(cell.Key)).Sum(cell => cell.Value);

        // The four types, any other a reviewer named (fibre), then always "unknown" and "unclassified": QA reads how
        // many particles the models could not place even when there are none.
        var typeNames = ParticleTypes.StudyTypes.Select(ParticleTypes.FolderName)
            .Concat(cells.Where(cell => cell.Key.Type is { } t && !ParticleTypes.StudyTypes.Contains(t) && t != ParticleType.Unknown)
                .Select(cell => ParticleTypes.FolderName(cell.Key.Type!.Value)).Distinct().Order())
            .Append(ParticleTypes.FolderName(ParticleType.Unknown))
            .Append(Unclassified)
            .ToList();

        TypeProfile Profile(string name, bool countsAsParticle, Func<LotTallyCell, bool> selects)
        {
            // A size class counts every particle at or above its edge: the cells of that class and of the classes above.
            var classes = SizeBins.LowerEdgesMicrometres.Select((edge, i) =>
            {
                int count = Sum(cell => selects(cell) && cell.SizeClass > i);
                double? perMl = analysedVolumeMl is { } v ? count / v : null;
                return new SizeClassCount(edge, count, perMl, perMl * containerVolumeMl);
            }).ToList();
            return new TypeProfile(name, countsAsParticle, Sum(selects), Sum(cell => selects(cell) && cell.IsUncertain), classes);
        }

        var types = typeNames.Select(name => Profile(name, name != ParticleTypes.FolderName(ParticleType.Bubble), cell => NameOf(cell.Type) == name)).ToList();

        // Light obscuration counts everything that is not a bubble, whatever its type; failed particles are kept in
        // (conservative), because nothing shows they are bubbles.
        var allParticles = Profile(AllParticles, true, cell => cell.Type != ParticleType.Bubble);
        var exceptOil = Profile(AllParticlesExceptSiliconeOil, true, cell => cell.Type is not (ParticleType.Bubble or ParticleType.SiliconeOil));

        int total = Sum(_ => true);
        int failed = Sum(cell => cell.Type is null);
        var facts = new LotFacts(total, failed,
            allParticles.SizeClasses.Single(s => s.AtOrAboveMicrometres == 10).Count,
            allParticles.SizeClasses.Single(s => s.AtOrAboveMicrometres == 25).Count,
            Sum(cell => cell.Type != ParticleType.Bubble && cell.SizeClass == LotTallyCell.Unsized),
            analysedVolumeMl, containerVolumeMl, runs, runsInProgress, Sum(cell => cell.Type == ParticleType.Unknown),
            checks.Where(c => c.Alarm).Select(c => c.RunId).Distinct().Count());
        var verdict = CompendialLimits.Judge(facts, policy);

        return new LotProfile(lot, runs, analysedVolumeMl, containerVolumeMl, total,
            Sum(cell => cell.IsUncertain), failed, Sum(cell => cell.SizeClass == LotTallyCell.Unsized),
            Sum(cell => cell.IsReviewed), types, allParticles, exceptOil, verdict, runsInProgress, checks);
    }

    private static string NameOf(ParticleType? type) => type is { } t ? ParticleTypes.FolderName(t) : Unclassified;
}
