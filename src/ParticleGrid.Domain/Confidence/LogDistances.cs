namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// How the out-of-scope score puts distances of different scales on one footing (each network stage, the image's
/// appearance): the logarithm of a squared Mahalanobis distance, standardised by its mean and spread on in-scope
/// validation images, so that 0 is a typical in-scope image and each unit one spread beyond it.
/// </summary>
internal static class LogDistances
{
    /// <summary>The logarithm of a distance, floored so that a distance of 0 stays finite.</summary>
    public static double Log(double distance) => Math.Log(Math.Max(distance, 1e-12));

    /// <summary>The mean and (sample) spread of the log distances of in-scope validation images.</summary>
    public static (double Mean, double Spread) Of(IEnumerable<double> distances)
    {
        var logs = distances.Select(Log).ToList();
        double mean = logs.Count == 0 ? 0 : logs.Average();
        double spread = logs.Count < 2 ? 1 : Math.Sqrt(logs.Sum(l => (l - mean) * (l - mean)) / (logs.Count - 1));
        // All validation images at one distance (a degenerate, tiny split): no spread to standardise by.
        return (mean, spread > 1e-9 ? spread : 1);
    }

    /// <summary>How many spreads a distance's logarithm lies above the in-scope mean.</summary>
    public static double Standardised(double distance, double mean, double spread) => (Log(distance) - mean) / spread;
}
