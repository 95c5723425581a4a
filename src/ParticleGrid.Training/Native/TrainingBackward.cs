using TorchSharp;

namespace ParticleGrid.Training.Native;

/// <summary>Where a training step's backward pass runs its convolutions.</summary>
public enum BackwardRoute
{
    /// <summary>oneDNN, libtorch's fast CPU path (and whatever runs on CUDA).</summary>
    OneDnn,

    /// <summary>libtorch's own CPU kernels (im2col + GEMM): the same gradients, slower; forward passes stay on oneDNN.</summary>
    LibTorchKernels,
}

/// <summary>
/// Decides, once per process, how training runs its backward pass, and says why.
/// <para>libtorch 2.10's oneDNN sizes its brgemm convolution-backward blocking from the CPU's data caches as CPUID
/// describes them. On a CPU whose CPUID describes no cache (some Zen 5 VMs: leaf 0x8000001D empty), a divisor in that
/// estimate is zero and the process dies with SIGFPE in ResNet50's strided 1x1 convolutions (docs/training.md has the
/// whole trace). Where the cache description is incomplete, the backward pass therefore runs on libtorch's own kernels;
/// everywhere else it stays on oneDNN. The setting forces either way.</para>
/// </summary>
public sealed record TrainingBackward(BackwardRoute Route, string Reason)
{
    /// <summary>The setting: auto (decide from the CPU), on (always oneDNN), off (never oneDNN in backward).</summary>
    public const string SettingVariable = "PARTICLEGRID__TRAINING__ONEDNNBACKWARD";

    public static IReadOnlyList<string> Choices { get; } = ["auto", "on", "off"];

    static readonly Lazy<CpuCacheTopology> ThisCpu = new(CpuCacheTopology.Read);

    /// <summary>The route for training on <paramref name="device"/>, from the setting (null: the environment's, else auto).</summary>
    public static TrainingBackward For(torch.Device device, string? setting = null) =>
        device.type == DeviceType.CPU
            ? Decide(setting ?? Environment.GetEnvironmentVariable(SettingVariable) ?? "auto", ThisCpu.Value)
            : new(BackwardRoute.OneDnn, $"{device.type} device: oneDNN does not run there");

    /// <summary>The decision itself, from the setting and what CPUID says of the caches (tests feed both).</summary>
    public static TrainingBackward Decide(string setting, CpuCacheTopology cpu) => setting.Trim().ToLowerInvariant() switch
    {
        "on" => new(BackwardRoute.OneDnn, $"{SettingVariable}=on"),
        "off" => new(BackwardRoute.LibTorchKernels, $"{SettingVariable}=off"),
        "auto" when cpu.OneDnnCanSizeItsBlocking => new(BackwardRoute.OneDnn, $"CPUID describes the caches ({cpu.Describe()})"),
        "auto" => new(BackwardRoute.LibTorchKernels,
            $"CPUID describes no real caches ({cpu.Describe()}); oneDNN's convolution backward divides by zero there"),
        _ => throw new ArgumentException($"{SettingVariable}={setting}: use one of {string.Join(", ", Choices)}"),
    };

    /// <summary>Wraps one backward pass: on <see cref="BackwardRoute.LibTorchKernels"/> oneDNN is off until disposed.</summary>
    public IDisposable Enter() => Route == BackwardRoute.LibTorchKernels ? OneDnnSwitch.Disable() : NoScope.Instance;

    /// <summary>Where the backward pass runs, in two or three words (for step names).</summary>
    public string Name => Route == BackwardRoute.OneDnn ? "backward on oneDNN" : "backward on libtorch's kernels";

    /// <summary>Where and why, for the training log.</summary>
    public string Describe() => $"{Name}: {Reason}";

    sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();
        public void Dispose() { }
    }
}
