namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// Temperature scaling (Guo et al. 2017): one positive number T per network, fitted on the validation split, that
/// divides the logits before the softmax. It changes how sure the network says it is, never which class wins, so
/// accuracy stays as it was while the probabilities come to mean what they say (a 0.9 is right about 9 times in 10).
/// Networks trained to near-zero loss on small sets are overconfident (T &gt; 1); the study's 0.90 threshold means
/// little until they are calibrated.
/// </summary>
public static class TemperatureScaling
{
    /// <summary>The range searched; a fit at either end means the data could not pin T down, which the caller reports.</summary>
    public const double MinTemperature = 0.05, MaxTemperature = 20;

    /// <summary>Softmax of logits / temperature, computed stably.</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits, double temperature = 1)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be a positive number.");
        double max = double.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l / temperature);
        var exponentials = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += exponentials[i] = Math.Exp(logits[i] / temperature - max);
        var result = new float[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = (float)(exponentials[i] / sum);
        return result;
    }

    /// <summary>Mean negative log-likelihood of the true classes at this temperature.</summary>
    public static double NegativeLogLikelihood(IReadOnlyList<float[]> logits, IReadOnlyList<int> labels, double temperature)
    {
        Check(logits, labels);
        double total = 0;
        for (int n = 0; n < logits.Count; n++)
        {
            var row = logits[n];
            double max = double.NegativeInfinity;
            foreach (float l in row) max = Math.Max(max, l / temperature);
            double sum = 0;
            foreach (float l in row) sum += Math.Exp(l / temperature - max);
            total += Math.Log(sum) + max - row[labels[n]] / temperature;
        }
        return total / logits.Count;
    }

    /// <summary>
    /// The temperature that minimises the validation NLL: golden-section search over log T (the NLL is convex in 1/T,
    /// so unimodal on this range).
    /// </summary>
    public static double Fit(IReadOnlyList<float[]> logits, IReadOnlyList<int> labels)
    {
        Check(logits, labels);
        double a = Math.Log(MinTemperature), b = Math.Log(MaxTemperature);
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double c = b - ratio * (b - a), d = a + ratio * (b - a);
        double fc = NegativeLogLikelihood(logits, labels, Math.Exp(c)), fd = NegativeLogLikelihood(logits, labels, Math.Exp(d));
        for (int i = 0; i < 80 && b - a > 1e-6; i++)
        {
            if (fc <= fd) { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = NegativeLogLikelihood(logits, labels, Math.Exp(c)); }
            else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = NegativeLogLikelihood(logits, labels, Math.Exp(d)); }
        }
        return Math.Exp((a + b) / 2);
    }

    static void Check(IReadOnlyList<float[]> logits, IReadOnlyList<int> labels)
    {
        if (logits.Count == 0) throw new ArgumentException("No logits to fit a temperature on.", nameof(logits));
        if (logits.Count != labels.Count) throw new ArgumentException($"{logits.Count} logit rows but {labels.Count} labels.", nameof(labels));
    }
}
