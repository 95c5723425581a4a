namespace ParticleGrid.Domain.Confidence;

/// <summary>One confidence bin of a reliability diagram: how sure the predictions in it were, and how often right.</summary>
public sealed record ReliabilityBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>
/// Expected calibration error: predictions binned by their top probability (15 equal-width bins, as Guo et al.),
/// then the gap between each bin's mean confidence and its accuracy, weighted by the bin's share of predictions.
/// 0 is perfectly calibrated; a network that says 0.99 and is right 80 % of the time scores about 0.19.
/// </summary>
public sealed record CalibrationError(double Value, IReadOnlyList<ReliabilityBin> Bins)
{
    public const int DefaultBins = 15;

    public static CalibrationError Of(IReadOnlyList<IReadOnlyList<float>> probabilities, IReadOnlyList<int> labels, int bins = DefaultBins)
    {
        if (probabilities.Count != labels.Count) throw new ArgumentException($"{probabilities.Count} rows but {labels.Count} labels.", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var count = new int[bins];
        var confidence = new double[bins];
        var correct = new double[bins];
        for (int n = 0; n < probabilities.Count; n++)
        {
            int predicted = ClassificationReport.ArgMax(probabilities[n]);
            double top = probabilities[n][predicted];
            int bin = Math.Clamp((int)Math.Ceiling(top * bins) - 1, 0, bins - 1); // (k/B, (k+1)/B]
            count[bin]++;
            confidence[bin] += top;
            if (predicted == labels[n]) correct[bin]++;
        }
        double ece = 0;
        var result = new List<ReliabilityBin>(bins);
        for (int b = 0; b < bins; b++)
        {
            double meanConfidence = count[b] == 0 ? 0 : confidence[b] / count[b];
            double accuracy = count[b] == 0 ? 0 : correct[b] / count[b];
            if (probabilities.Count > 0) ece += (double)count[b] / probabilities.Count * Math.Abs(meanConfidence - accuracy);
            result.Add(new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, count[b], meanConfidence, accuracy));
        }
        return new CalibrationError(ece, result);
    }
}
