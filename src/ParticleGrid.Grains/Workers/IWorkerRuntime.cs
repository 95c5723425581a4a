using Microsoft.Extensions.DependencyInjection;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Grains.Workers;

/// <summary>
/// The networks of one worker silo, as its worker grain sees them: model sets prepared and activated, particles
/// classified in the device's batches, and what the worker reports about itself. The runtime lives in
/// ParticleGrid.Serving (engines, batcher, vote); the grains reach it only through this interface, so a gateway, which
/// never runs a network, loads neither TorchSharp nor ONNX Runtime.
/// </summary>
public interface IWorkerRuntime
{
    /// <summary>"onnxruntime" or "torchsharp".</summary>
    string Engine { get; }

    /// <summary>What the silo advertises: "cpu" or "cuda:N".</summary>
    string DeviceDescription { get; }

    /// <summary>The version of the model set it votes with; null before one is active.</summary>
    string? ActiveVersion { get; }

    bool IsReady { get; }

    int Queued { get; }

    int Capacity { get; }

    long ClassifiedParticles { get; }

    long Batches { get; }

    long RefusedRequests { get; }

    /// <summary>Loads a model set (and warms it up) without voting with it yet.</summary>
    Task PrepareAsync(ModelSetInfo set);

    /// <summary>Votes with a prepared set from now on.</summary>
    void Activate(string version);

    Task<IReadOnlyList<ParticleVerdict>> ClassifyAsync(ClassificationRequest request);

    /// <summary>Both sets' answers on reviewed particles, for the gate before a new set goes live.</summary>
    Task<IReadOnlyList<GateAnswers?>> AnswerForGateAsync(ModelSetInfo active, ModelSetInfo candidate, IReadOnlyList<byte[]> images);

    /// <summary>Lets queued particles finish, at most <paramref name="limit"/>, before the silo leaves.</summary>
    Task DrainAsync(TimeSpan limit);
}

/// <summary>
/// What a worker host brings to its silo: the device it computes on (advertised in the silo's metadata, where
/// placement reads it) and the runtime itself. A host without one (a gateway) cannot take the worker role.
/// </summary>
public interface IWorkerRuntimeFactory
{
    /// <summary>"cpu" or "cuda:N" for these options.</summary>
    /// <remarks>Throws, naming the engine or device, when the configuration asks for one this build or host lacks.</remarks>
    string DescribeDevice(WorkerOptions options);

    /// <summary>Registers the <see cref="IWorkerRuntime"/> singleton in the silo's services.</summary>
    void AddTo(IServiceCollection services);
}
