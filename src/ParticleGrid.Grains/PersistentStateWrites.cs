using Orleans.Serialization;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains;

/// <summary>
/// Grain state changed only when its write succeeds. A grain that changes its state and then fails to write it keeps
/// the change in memory: the caller hears the failure and retries, the grain finds the change already made and writes
/// nothing, and the change is lost when the grain deactivates. So a change is made to a copy, the copy is written, and
/// the grain keeps the copy only when the write went through.
/// </summary>
internal static class PersistentStateWrites
{
    /// <param name="copier">Orleans' deep copier (the serializer's own), so the copy has every field the state has.</param>
    public static async Task WriteChangeAsync<T>(this IPersistentState<T> state, DeepCopier copier, Action<T> change) where T : class
    {
        var before = state.State;
        var changed = copier.Copy(before) ?? throw new InvalidOperationException($"the {typeof(T).Name} could not be copied");
        change(changed);
        state.State = changed;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = before;
            throw;
        }
    }

    /// <summary>Whether a failed state write was the storage's outage (its database down, its disk full), at any depth of the wrapping.</summary>
    public static bool IsOutage(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (StoreOutages.IsOutage(inner)) return true;
        return false;
    }
}
