using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Placement;

namespace ParticleGrid.Host.Api;

/// <summary>
/// One worker silo as <c>GET /workers</c> lists it: what it reported, or, for a silo that membership still lists but
/// that did not answer (killed, its network cut), <see cref="Reachable"/> false and why.
/// </summary>
public sealed record WorkerReport(string Silo, bool Reachable, string? Problem, string Device, string Engine, string? ActiveModelSet,
    int QueuedParticles, int QueueCapacity, long ClassifiedParticles, long Batches, long RefusedRequests)
{
    public static WorkerReport Of(WorkerInfo info) => new(info.Silo, true, null, info.Device, info.Engine, info.ActiveModelSet,
        info.QueuedParticles, info.QueueCapacity, info.ClassifiedParticles, info.Batches, info.RefusedRequests);
}

/// <summary>
/// <c>GET /workers</c> answers during a fault: each worker is asked on its own with a short timeout, so one dead silo
/// (membership removes it only after missed probes) is listed as unreachable instead of failing the whole answer.
/// </summary>
public static class WorkersApi
{
    /// <summary>How long a worker has to say how it is; a live one answers in milliseconds.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    public static async Task<IReadOnlyList<WorkerReport>> ListAsync(WorkerSilos workers, IGrainFactory grains)
    {
        return await Task.WhenAll(workers.Active().Select(async silo =>
        {
            try
            {
                return WorkerReport.Of(await grains.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(silo)).GetInfo().WaitAsync(AnswerTimeout));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // OrleansMessageRejectionException, SiloUnavailableException, a timeout: whatever it is, this silo did not answer.
                // The first line only: Orleans puts its inner exception, stack and all, into the message.
                string problem = e is TimeoutException ? $"no answer within {AnswerTimeout.TotalSeconds:0} s" : $"{e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}";
                return new WorkerReport(silo.ToParsableString(), false, problem, workers.DevicesOf(silo), "", null, 0, 0, 0, 0, 0);
            }
        }));
    }
}
