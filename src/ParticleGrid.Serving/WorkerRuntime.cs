using Microsoft.Extensions.DependencyInjection;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Serving.Engines;

namespace ParticleGrid.Serving;

/// <summary>
/// What a worker host (the CLI's <c>serve</c>, the embedded default, a worker pod) plugs into its silo: the ensemble
/// on this process's device as the silo's <see cref="IWorkerRuntime"/>.
/// <para>The device advertised is "cpu", or the CUDA device the networks run on ("cuda:0"). One worker silo drives one
/// device; a machine with several GPUs runs one worker silo per GPU (CUDA_VISIBLE_DEVICES), so placement and batching
/// see each device as its own worker.</para>
/// </summary>
public sealed class WorkerRuntime : IWorkerRuntimeFactory
{
    /// <exception cref="EngineUnavailableException">The configured engine or device is not in this build or host.</exception>
    public string DescribeDevice(WorkerOptions options) => InferenceEngines.Resolve(options.Engine, options.Device).Device;

    public void AddTo(IServiceCollection services)
    {
        services.AddSingleton<EnsembleRuntime>();
        services.AddSingleton<IWorkerRuntime>(sp => sp.GetRequiredService<EnsembleRuntime>());
    }
}
