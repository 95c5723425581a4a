namespace ParticleGrid.Inference.Networks;

/// <summary>
/// 2-D batch normalisation with PyTorch's <c>nn.BatchNorm2d</c> state (<c>weight</c>, <c>bias</c>, <c>running_mean</c>,
/// <c>running_var</c>, <c>num_batches_tracked</c>), defaults (eps 1e-5, momentum 0.1) and maths (F.batch_norm).
/// </summary>
/// <remarks>
/// Why not TorchSharp's BatchNorm2d: in training it runs <c>num_batches_tracked.add_(1)</c> with temporary
/// <see cref="Scalar"/>s, whose finalizer frees native memory that libtorch may still be reading when another thread
/// starts a garbage collection. Under load that throws ("For integral input tensors, argument alpha must not be a
/// floating point number", about once per 10,000 calls here) or silently uses a wrong value. This one holds its
/// Scalar for its whole life. See tests/ParticleGrid.Inference.Tests/Networks/ScalarLifetimeTests.cs.
/// </remarks>
public sealed class SafeBatchNorm2d : Module<Tensor, Tensor>
{
    const double Epsilon = 1e-5;

    // Field names are the state_dict keys (RegisterComponents uses them; torchvision checkpoints expect them).
#pragma warning disable IDE1006
    readonly Parameter weight;
    readonly Parameter bias;
    readonly Tensor running_mean;
    readonly Tensor running_var;
    readonly Tensor num_batches_tracked;
#pragma warning restore IDE1006
    readonly Scalar one = 1L.ToScalar();

    public SafeBatchNorm2d(long features) : base("BatchNorm2d")
    {
        weight = Parameter(torch.ones(features));
        bias = Parameter(torch.zeros(features));
        running_mean = torch.zeros(features);
        running_var = torch.ones(features);
        num_batches_tracked = torch.zeros([], dtype: ScalarType.Int64);
        RegisterComponents();
    }

    public long Features => weight.shape[0];
    public Parameter Weight => weight;
    public Parameter Bias => bias;
    public Tensor RunningMean => running_mean;
    public Tensor RunningVar => running_var;
    public Tensor BatchesTracked => num_batches_tracked;

    /// <summary>Weight of each training batch in the running statistics (PyTorch's default 0.1).</summary>
    public double Momentum { get; set; } = DefaultMomentum;

    public const double DefaultMomentum = 0.1;

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4) throw new ArgumentException($"expected a 4-D input [N, C, H, W], got {input.dim()}-D");
        if (training)
        {
            using var noGrad = torch.no_grad();
            num_batches_tracked.add_(one, one);
        }
        return functional.batch_norm(input, running_mean, running_var, weight, bias, training, Momentum, Epsilon);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) one.Dispose();
        base.Dispose(disposing);
    }
}
