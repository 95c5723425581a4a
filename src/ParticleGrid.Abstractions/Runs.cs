using ParticleGrid.Domain;

namespace ParticleGrid.Abstractions;

/// <summary>What an instrument run is: the lot it samples, the instrument, how much sample it analysed.</summary>
/// <param name="LotId">The product lot the sample comes from.</param>
/// <param name="InstrumentId">The FlowCAM / MFI instrument that imaged it.</param>
/// <param name="AnalysedVolumeMl">Sample volume the instrument analysed; turns counts into counts per mL.</param>
/// <param name="ExpectedParticles">How many particle images the run will send, when known (for progress).</param>
/// <param name="MicrometresPerPixel">The instrument's calibration, for sizing particles from their images when the
/// export gives no size (a particle's own calibration, when it has one, wins).</param>
[GenerateSerializer, Immutable]
public sealed record RunDescriptor(
    [property: Id(0)] string LotId,
    [property: Id(1)] string InstrumentId,
    [property: Id(2)] double? AnalysedVolumeMl,
    [property: Id(3)] int? ExpectedParticles = null,
    [property: Id(4)] double? MicrometresPerPixel = null)
{
    /// <summary>Why this descriptor cannot start a run, or null when it can.</summary>
    public string? Problem() => this switch
    {
        _ when !Identifiers.IsValid(LotId) => $"lot id '{LotId}' is not valid: {Identifiers.Rule}",
        _ when !Identifiers.IsValid(InstrumentId) => $"instrument id '{InstrumentId}' is not valid: {Identifiers.Rule}",
        { AnalysedVolumeMl: { } v } when !(v > 0 && double.IsFinite(v)) => $"analysed volume {v} mL must be a positive number",
        { ExpectedParticles: < 0 } => "expected particles cannot be negative",
        { MicrometresPerPixel: { } c } when !(c > 0 && double.IsFinite(c)) => $"calibration {c} um per pixel must be a positive number",
        _ => null,
    };
}

/// <summary>One particle image as an instrument export gives it.</summary>
/// <param name="ParticleId">Unique within its run (the instrument's particle number).</param>
/// <param name="Image">The encoded image (PNG, TIFF, BMP, JPEG, GIF) as cut from the instrument's export.</param>
/// <param name="EcdMicrometres">Equivalent circular diameter from the instrument, when it gives one.</param>
/// <param name="MicrometresPerPixel">This particle's calibration (FlowCAM lists one per particle), when known.</param>
/// <param name="Shape">The instrument's other measurements, when its list gives them.</param>
[GenerateSerializer, Immutable]
public sealed record ParticleImage(
    [property: Id(0)] string ParticleId,
    [property: Id(1)] byte[] Image,
    [property: Id(2)] double? EcdMicrometres,
    [property: Id(3)] double? MicrometresPerPixel = null,
    [property: Id(4)] ParticleShape? Shape = null);

/// <summary>What happened to a submitted batch.</summary>
/// <param name="Received">Particles in the batch.</param>
/// <param name="Appended">Newly recorded (classified or failed).</param>
/// <param name="AlreadyRecorded">Recorded before (a replayed batch): not classified again, not counted twice.</param>
/// <param name="Failed">Of those appended, how many could not be classified (the store keeps the cause).</param>
[GenerateSerializer, Immutable]
public sealed record BatchReceipt(
    [property: Id(0)] string BatchId,
    [property: Id(1)] int Received,
    [property: Id(2)] int Appended,
    [property: Id(3)] int AlreadyRecorded,
    [property: Id(4)] int Failed);

public enum RunState
{
    /// <summary>No run with this id was started.</summary>
    Unknown,

    /// <summary>Started; particles are arriving.</summary>
    Open,

    /// <summary>The instrument said it sent everything.</summary>
    Completed,
}

/// <summary>A run's progress as the store counts it.</summary>
/// <param name="DomainShift">The run compared with the training data of each model set that classified it (one check per
/// set); empty before anything was classified.</param>
[GenerateSerializer, Immutable]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunState State,
    [property: Id(2)] RunDescriptor? Descriptor,
    [property: Id(3)] int Recorded,
    [property: Id(4)] int Classified,
    [property: Id(5)] int Uncertain,
    [property: Id(6)] int Failed,
    [property: Id(7)] int Rejected = 0,
    [property: Id(8)] IReadOnlyList<ParticleGrid.Domain.DomainShiftCheck>? DomainShift = null)
{
    /// <summary>The domain-shift message while any check of the run is in alarm, else null.</summary>
    public string? DomainShiftAlarm => DomainShift?.Any(c => c.Alarm) == true ? ParticleGrid.Domain.DomainShift.Message : null;

    /// <summary>Recorded particles as a share of those expected (0..1), when the run said how many to expect.</summary>
    public double? Progress => Descriptor?.ExpectedParticles is > 0 and var expected ? Math.Min(1.0, (double)Recorded / expected) : null;
}

/// <summary>What a lot is, beyond its runs: the container volume turns per-mL counts into per-container ones.</summary>
[GenerateSerializer, Immutable]
public sealed record LotDescriptor(
    [property: Id(0)] double? ContainerVolumeMl,
    [property: Id(1)] string? Product = null)
{
    public string? Problem() => ContainerVolumeMl is { } v && !(v > 0 && double.IsFinite(v))
        ? $"container volume {v} mL must be a positive number" : null;
}

/// <summary>An item of an export refused before it reached the run (reported so the run and the metrics know).</summary>
[GenerateSerializer, Immutable]
public sealed record RejectedItem(
    [property: Id(0)] string Source,
    [property: Id(1)] string Reason);
