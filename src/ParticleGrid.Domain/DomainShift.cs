using System.Globalization;

namespace ParticleGrid.Domain;

/// <summary>
/// The site's settings for the domain-shift alarm (appsettings <c>ParticleGrid:Verdict:DomainShift:...</c>). They sit
/// under the verdict settings because an alarm makes a lot not assessable, and every reader of a lot (grain, API, CLI)
/// already gets those: all of them then judge a run alike.
/// </summary>
public sealed class DomainShiftPolicy
{
    /// <summary>
    /// Classified particles a run needs (per model set) before it can be in alarm. Below it a few unknown particles by
    /// chance would look like a large share; 50 keeps the first alarm after one or two batches of a real run.
    /// </summary>
    public int MinParticles { get; set; } = 50;

    /// <summary>
    /// The one-sided significance of the binomial test: the chance that a run of in-scope images, unknown at the expected
    /// share, shows this many unknown particles or more. 0.001, because every batch tests again (a run is tested many times,
    /// and a false alarm stops a lot's release).
    /// </summary>
    public double Significance { get; set; } = 0.001;

    /// <summary>
    /// The unknown share must also be at least this many times the expected one. A very large run makes a trivially small
    /// excess significant; the expected share is itself estimated on a validation split of a few hundred images, and the
    /// ensemble's share is only approximated (see <see cref="DomainShift.ExpectedUnknownShare"/>). 2: twice what the
    /// training data showed.
    /// </summary>
    public double MinShareOverExpected { get; set; } = 2;

    /// <summary>
    /// The smallest expected share the test uses. A validation split where every image was kept says the share is small,
    /// not that it is 0; without a floor a single unknown particle would raise the alarm.
    /// </summary>
    public double MinExpectedShare { get; set; } = 0.01;

    /// <summary>Says what is wrong, so a host refuses to start with one clear line.</summary>
    public void Validate()
    {
        var check = new SettingsCheck("domain shift");
        check.Require(MinParticles >= 1, nameof(MinParticles), MinParticles, "must be at least 1");
        check.Require(Significance is > 0 and < 1, nameof(Significance), Significance, "must be between 0 and 1 (0.001 is 0.1 %)");
        check.Require(MinShareOverExpected >= 1 && double.IsFinite(MinShareOverExpected), nameof(MinShareOverExpected), MinShareOverExpected,
            "must be a factor of at least 1");
        check.Require(MinExpectedShare is > 0 and < 1, nameof(MinExpectedShare), MinExpectedShare, "must be a share between 0 and 1");
    }
}

/// <summary>What the store counted of one run's particles classified by one model set.</summary>
/// <param name="Classified">Particles of the run the model set classified (failed ones are not: they have no score).</param>
/// <param name="Unknown">Of those, the ones the ensemble called "unknown" (its vote, whatever a reviewer said later: the
/// alarm is about what the images looked like to the models).</param>
/// <param name="ExpectedUnknownShare">The model set's reference: the unknown share its validation split showed; null when
/// the set has no out-of-scope reference (or was registered before references were kept), so it cannot be compared.</param>
public sealed record DomainShiftCounts(string RunId, string ModelSet, int Classified, int Unknown, double? ExpectedUnknownShare);

/// <summary>One run compared with one model set's training data.</summary>
/// <param name="UnknownShare">Unknown over classified.</param>
/// <param name="PValue">The chance of this many unknown particles or more if the run were like the training data; null
/// when there is no reference or too few particles to test.</param>
/// <param name="Alarm">The run's images are unlike this model set's training data.</param>
/// <param name="Detail">Why (or why not) in one line.</param>
public sealed record DomainShiftCheck(string RunId, string ModelSet, int Classified, int Unknown, double UnknownShare,
    double? ExpectedUnknownShare, double? PValue, bool Alarm, string Detail);

/// <summary>
/// The domain-shift alarm: a run's unknown share compared with the one its model set's training data showed. Each network's
/// out-of-scope threshold keeps a stated share (95 %) of in-scope validation images, so in-scope particles are "unknown" at
/// a known, small rate; a run whose images come from another instrument, setting or product shows many more, long before a
/// reviewer would notice. The per-particle score is already a feature statistic (a Mahalanobis distance to the training
/// features), so its rate over a run is the run-level comparison with the training features.
/// </summary>
public static class DomainShift
{
    /// <summary>What the run, its lot, the API, the UI and the CLI say while the alarm is on.</summary>
    public const string Message = "images unlike this model set's training data: results not validated for this instrument or setting";

    /// <summary>
    /// A model set's expected unknown share: the mean over its networks of the share of validation images each one's
    /// threshold did not keep (1 - kept share). The ensemble calls a particle unknown when the networks' mean ratio
    /// reaches 1, whose rate is not exactly the mean of the networks' rates (identical when the networks agree, lower
    /// when their misses are independent, higher in rare cases where one network far past its threshold carries the
    /// mean): an approximation, which <see cref="DomainShiftPolicy.MinShareOverExpected"/> leaves room for.
    /// Null when any network has no out-of-scope reference.
    /// </summary>
    public static double? ExpectedUnknownShare(IReadOnlyCollection<double?> validationKeptShares)
    {
        ArgumentNullException.ThrowIfNull(validationKeptShares);
        if (validationKeptShares.Count == 0 || validationKeptShares.Any(s => s is null)) return null;
        return validationKeptShares.Average(s => Math.Clamp(1 - s!.Value, 0, 1));
    }

    /// <summary>Compares one run's particles with one model set's reference.</summary>
    public static DomainShiftCheck Assess(DomainShiftCounts counts, DomainShiftPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(policy);
        int n = counts.Classified, k = counts.Unknown;
        double share = n == 0 ? 0 : (double)k / n;
        string observed = Invariant($"{k} of {n} classified particles unknown ({Percent(share)})");
        if (counts.ExpectedUnknownShare is not { } reference)
        {
            return new DomainShiftCheck(counts.RunId, counts.ModelSet, n, k, share, null, null, false,
                $"{observed}; model set {counts.ModelSet} has no reference of its training data, so the run cannot be compared with it");
        }
        double expected = Math.Max(reference, policy.MinExpectedShare);
        string against = Invariant($"{observed} against {Percent(reference)} on model set {counts.ModelSet}'s validation data");
        if (n < policy.MinParticles)
        {
            return new DomainShiftCheck(counts.RunId, counts.ModelSet, n, k, share, reference, null, false,
                Invariant($"{against}; not tested below {policy.MinParticles} particles"));
        }
        double p = UpperTail(n, k, expected);
        bool alarm = p < policy.Significance && share >= policy.MinShareOverExpected * expected;
        string detail = alarm
            ? Invariant($"{Message} ({against}; binomial p = {p:0.###E+0})")
            : Invariant($"{against}; binomial p = {p:0.###E+0}: no alarm");
        return new DomainShiftCheck(counts.RunId, counts.ModelSet, n, k, share, reference, p, alarm, detail);
    }

    /// <summary>
    /// P(X &gt;= k) for X ~ Binomial(n, p): the one-sided test of an unknown share above the expected one. Summed in log
    /// space from k upwards so that runs of many thousand particles neither overflow nor lose the tail to rounding.
    /// </summary>
    public static double UpperTail(int n, int k, double p)
    {
        if (n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(n), "counts cannot be negative");
        if (!(p is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "a share between 0 and 1");
        if (k == 0) return 1;
        if (k > n) return 0;
        if (p == 0) return 0;
        if (p == 1) return 1;
        // log C(n, k) + k log p + (n - k) log(1 - p), then each next term by the ratio of successive probabilities.
        double logTerm = LogChoose(n, k) + k * Math.Log(p) + (n - k) * Math.Log(1 - p);
        double sum = 0, odds = p / (1 - p);
        for (int i = k; i <= n; i++)
        {
            double term = Math.Exp(logTerm);
            sum += term;
            // Past the mode the terms shrink geometrically; once they no longer change the sum, the rest cannot either.
            if (i > n * p && term < sum * 1e-17) break;
            logTerm += Math.Log((double)(n - i) / (i + 1)) + Math.Log(odds);
        }
        return Math.Min(1, sum);
    }

    private static double LogChoose(int n, int k)
    {
        k = Math.Min(k, n - k);
        double result = 0;
        for (int j = 1; j <= k; j++) result += Math.Log((double)(n - k + j) / j);
        return result;
    }

    private static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
