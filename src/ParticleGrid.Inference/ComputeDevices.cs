namespace ParticleGrid.Inference;

/// <summary>Where networks run: "auto" takes CUDA when this build and host have it, else the CPU.</summary>
public static class ComputeDevices
{
    public static IReadOnlyList<string> Choices { get; } = ["auto", "cpu", "cuda"];

    public static Device Resolve(string choice) => choice switch
    {
        "auto" => torch.cuda.is_available() ? CUDA : CPU,
        "cpu" => CPU,
        "cuda" when torch.cuda.is_available() => CUDA,
        "cuda" => throw new InvalidOperationException(
            "--device cuda: no CUDA device is available to this build (it carries the CPU natives; build with the GPU option on a CUDA host)"),
        _ => throw new ArgumentException($"unknown device '{choice}'; use one of {string.Join(", ", Choices)}"),
    };
}
