using System.Runtime.InteropServices;
using TorchSharp;

namespace ParticleGrid.Training.Native;

/// <summary>
/// libtorch's process-wide "use oneDNN (MKLDNN)" flag, <c>at::globalContext().setUserEnabledMkldnn(bool)</c>, which is
/// what PyTorch's <c>torch.backends.mkldnn.enabled</c> sets. TorchSharp 0.107 does not expose it, so it is called
/// through libtorch_cpu's exported C++ symbols: <c>at::globalContext()</c> returns the context and the two members take
/// it as their first argument (the Itanium C++ ABI that libtorch's Linux build uses).
/// <para>libtorch reads the flag each time it picks a convolution's implementation, in the forward pass and again in
/// <c>convolution_backward</c>, so turning it off around <c>backward()</c> alone sends only the backward pass to
/// libtorch's own kernels and leaves the forward on oneDNN. NNPACK (libtorch's other CPU convolution library, picked
/// at batch 16 and above when oneDNN is off) is turned off with it, so the backward lands on one well-known path:
/// <c>slow_conv2d_backward</c> (im2col + GEMM).</para>
/// </summary>
public static class OneDnnSwitch
{
    const string Library = "libtorch_cpu";
    static readonly Lock Gate = new();
    static int disabledScopes;
    static bool oneDnnBefore, nnpackBefore;

    /// <summary>Whether libtorch currently lets oneDNN run its operators.</summary>
    public static bool Enabled
    {
        get
        {
            EnsureLoaded();
            return UserEnabledMkldnn(GlobalContext());
        }
    }

    /// <summary>
    /// Turns oneDNN (and NNPACK) off until the scope is disposed. Scopes may overlap (several trainers in one process): the flag comes
    /// back as it was when the last one closes. While a scope is open every libtorch operator in the process takes its
    /// non-oneDNN kernel, which computes the same function (float rounding aside) more slowly.
    /// </summary>
    public static IDisposable Disable()
    {
        EnsureLoaded();
        lock (Gate)
        {
            if (disabledScopes++ == 0)
            {
                var context = GlobalContext();
                (oneDnnBefore, nnpackBefore) = (UserEnabledMkldnn(context), UserEnabledNnpack(context));
                SetUserEnabledMkldnn(context, false);
                SetUserEnabledNnpack(context, false);
            }
        }
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return;
            lock (Gate)
            {
                if (--disabledScopes > 0) return;
                var context = GlobalContext();
                SetUserEnabledMkldnn(context, oneDnnBefore);
                SetUserEnabledNnpack(context, nnpackBefore);
            }
        }
    }

    /// <summary>TorchSharp loads libtorch on first use; the symbols below must come from that same library.</summary>
    static void EnsureLoaded() => torch.InitializeDeviceType(DeviceType.CPU);

    [DllImport(Library, EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr GlobalContext();

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    static extern bool UserEnabledMkldnn(IntPtr context);

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    static extern bool UserEnabledNnpack(IntPtr context);
}
