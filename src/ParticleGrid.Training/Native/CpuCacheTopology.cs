using System.Runtime.Intrinsics.X86;
using System.Text;

namespace ParticleGrid.Training.Native;

/// <summary>One CPUID query: leaf and sub-leaf in, the four registers out.</summary>
public delegate (uint Eax, uint Ebx, uint Ecx, uint Edx) CpuidQuery(uint leaf, uint subleaf);

/// <summary>One data (or unified) cache level as oneDNN sees it: its size and how many cores share it.</summary>
public sealed record DataCacheLevel(int Level, long SizeBytes, int CoresSharing);

/// <summary>
/// The data caches this CPU describes through CPUID, computed the way libtorch 2.10's oneDNN (v3.7.1) computes them in
/// its bundled xbyak (<c>Cpu::setCacheHierarchy</c>) and <c>platform::get_per_core_cache_size</c>:
/// <list type="bullet">
/// <item>AMD: always three levels, from leaf 0x8000001D sub-leaves 0 (L1 data), 2 (L2) and 3 (L3), without asking whether
/// the leaf says anything. A leaf of zeros gives (0+1)^4 = 1 byte per level, not "unknown", so oneDNN never falls back to
/// its guesses (32 KiB / 512 KiB / 1 MiB) there.</item>
/// <item>Intel: leaf 4, one sub-leaf per cache until the "no more caches" type; none at all makes oneDNN guess.</item>
/// </list>
/// Linux reads the same leaves for /sys/devices/system/cpu/cpu0/cache, which is why lscpu shows no cache lines on the
/// CPUs where oneDNN faults. Reading CPUID directly, not sysfs, sees exactly what oneDNN sees, also in containers.
/// </summary>
public sealed record CpuCacheTopology(string Vendor, IReadOnlyList<DataCacheLevel> DataCaches, string Source)
{
    const int MaxLevels = 10; // xbyak's maxNumberCacheLevels

    /// <summary>Below this, a "cache" is not a description of a real one: the smallest real L1 data cache is 16 KiB.</summary>
    public const long SmallestPlausibleCacheBytes = 4 * 1024;

    /// <summary>This machine's, or an empty non-x86 answer (oneDNN's x64 kernels, and this fault, are x86-only).</summary>
    public static CpuCacheTopology Read() => X86Base.IsSupported
        ? FromCpuid((leaf, subleaf) =>
        {
            var (a, b, c, d) = X86Base.CpuId((int)leaf, (int)subleaf);
            return ((uint)a, (uint)b, (uint)c, (uint)d);
        })
        : new CpuCacheTopology("not x86", [], NoCpuid);

    const string NoCpuid = "no CPUID";

    /// <summary>
    /// Whether oneDNN's blocking estimates get real L1 and L2 sizes per core. With 1-byte caches no block "fits in L1",
    /// the brgemm blocking keeps its largest row block even where it exceeds the rows of a strided 1x1 convolution's
    /// backward pass, the row-block count comes out 0, and <c>brg_blocking_t::est_eff_1x1</c> divides by it (an integer
    /// division for ResNet50's 512-&gt;1024 and 1024-&gt;2048 downsample shapes): SIGFPE. No levels at all is fine: oneDNN
    /// then guesses sizes. Not x86: oneDNN's x64 kernels never run.
    /// </summary>
    public bool OneDnnCanSizeItsBlocking =>
        Source == NoCpuid || DataCaches.Count == 0
        || DataCaches.Count >= 2 && DataCaches.Take(2).All(c => c.SizeBytes / Math.Max(1, c.CoresSharing) >= SmallestPlausibleCacheBytes);

    /// <summary>E.g. "AuthenticAMD, CPUID 0x8000001D: L1 1 B, L2 1 B, L3 1 B per core".</summary>
    public string Describe() => DataCaches.Count == 0
        ? $"{Vendor}: no data cache levels from {Source}"
        : $"{Vendor}, {Source}: {string.Join(", ", DataCaches.Select(c => $"L{c.Level} {Size(c.SizeBytes / Math.Max(1, c.CoresSharing))}"))} per core";

    static string Size(long bytes) => bytes switch
    {
        >= 1 << 20 => $"{bytes >> 20} MiB",
        >= 1 << 10 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>Parses the CPUID answers (a test passes recorded or made-up ones).</summary>
    public static CpuCacheTopology FromCpuid(CpuidQuery cpuid)
    {
        var (maxLeaf, b0, c0, d0) = cpuid(0, 0);
        string vendor = Encoding.ASCII.GetString([.. BitConverter.GetBytes(b0), .. BitConverter.GetBytes(d0), .. BitConverter.GetBytes(c0)]);
        return vendor switch
        {
            "AuthenticAMD" => Amd(vendor, cpuid, ThreadsPerCore(cpuid, maxLeaf)),
            "GenuineIntel" when maxLeaf >= 4 => Intel(vendor, cpuid),
            _ => new CpuCacheTopology(vendor, [], "no cache leaf oneDNN reads"),
        };
    }

    /// <summary>xbyak's SMT width from leaf 0xB (at least 1: a hypervisor may zero the leaf).</summary>
    static int ThreadsPerCore(CpuidQuery cpuid, uint maxLeaf)
    {
        if (maxLeaf < 0xB) return 1;
        for (uint i = 0; i < 2; i++)
        {
            var (_, b, c, _) = cpuid(0xB, i);
            if (((c >> 8) & 0xFF) == 1) return Math.Max(1, (int)(b & 0xFFFF)); // the SMT level
        }
        return 1;
    }

    /// <summary>xbyak's AMD branch: three levels from 0x8000001D sub-leaves 0, 2 and 3, whatever they hold.</summary>
    static CpuCacheTopology Amd(string vendor, CpuidQuery cpuid, int threadsPerCore)
    {
        var levels = new List<DataCacheLevel>();
        foreach (uint subleaf in new uint[] { 0, 2, 3 })
        {
            var (a, b, c, _) = cpuid(0x8000_001D, subleaf);
            long size = (((b >> 22) & 0x3FF) + 1L) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * ((long)c + 1);
            int logicalSharing = (int)((a >> 14) & 0xFFF) + 1;
            levels.Add(new DataCacheLevel(levels.Count + 1, size, Math.Max(logicalSharing / threadsPerCore, 1)));
        }
        return new CpuCacheTopology(vendor, levels, "CPUID 0x8000001D");
    }

    /// <summary>xbyak's Intel branch: leaf 4 until "no more caches", instruction caches skipped.</summary>
    static CpuCacheTopology Intel(string vendor, CpuidQuery cpuid)
    {
        var levels = new List<DataCacheLevel>();
        for (uint subleaf = 0; levels.Count < MaxLevels && subleaf < 64; subleaf++)
        {
            var (a, b, c, _) = cpuid(4, subleaf);
            uint type = a & 0x1F;
            if (type == 0) break;     // no more caches
            if (type == 2) continue;  // instruction cache
            bool fullyAssociative = ((a >> 9) & 1) == 1;
            long size = (((b >> 22) & 0x3FF) + 1L) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * (fullyAssociative ? 1 : (long)c + 1);
            levels.Add(new DataCacheLevel(levels.Count + 1, size, Math.Max(1, (int)((a >> 14) & 0xFFF) + 1)));
        }
        return new CpuCacheTopology(vendor, levels, "CPUID 4");
    }
}
