using System.Text;
using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;

namespace ParticleGrid.Inference.Tests.Native;

/// <summary>
/// The detection behind the training route, fed made-up CPUID answers: what oneDNN 3.7.1 (its xbyak) would compute, and
/// whether that leaves its convolution-backward blocking a real cache to divide by.
/// </summary>
public sealed class CpuCacheTopologyTests
{
    /// <summary>A CPU of the given vendor that answers the listed (leaf, sub-leaf) queries, and zeros for every other.</summary>
    static CpuidQuery Cpu(string vendor, uint maxLeaf, Dictionary<(uint, uint), (uint, uint, uint, uint)> answers)
    {
        var bytes = Encoding.ASCII.GetBytes(vendor);
        uint Word(int at) => BitConverter.ToUInt32(bytes, at);
        return (leaf, subleaf) => leaf == 0
            ? (maxLeaf, Word(0), Word(8), Word(4)) // vendor string: EBX, EDX, ECX
            : answers.TryGetValue((leaf, subleaf), out var answer) ? answer : (0u, 0u, 0u, 0u);
    }

    /// <summary>One cache parameters sub-leaf (AMD 0x8000001D and Intel 4 share the layout).</summary>
    static (uint, uint, uint, uint) Cache(uint type, uint level, int sharingThreads, int ways, int lineBytes, long sizeBytes)
    {
        uint eax = type | level << 5 | (uint)(sharingThreads - 1) << 14;
        uint ebx = (uint)(ways - 1) << 22 | (uint)(lineBytes - 1);
        uint sets = (uint)(sizeBytes / (ways * lineBytes)) - 1;
        return (eax, ebx, sets, 0u);
    }

    /// <summary>A Zen 5 as this product's usual build machines show it: 48 KiB L1d, 1 MiB L2, 32 MiB L3 over 8 cores.</summary>
    static Dictionary<(uint, uint), (uint, uint, uint, uint)> Zen5Caches() => new()
    {
        [(0x8000_001D, 0)] = Cache(1, 1, 1, 12, 64, 48 * 1024),
        [(0x8000_001D, 1)] = Cache(2, 1, 1, 8, 64, 32 * 1024),
        [(0x8000_001D, 2)] = Cache(3, 2, 1, 16, 64, 1024 * 1024),
        [(0x8000_001D, 3)] = Cache(3, 3, 8, 16, 64, 32 * 1024 * 1024),
    };

    [Fact]
    public void An_AMD_CPU_that_describes_its_caches_gives_oneDNN_real_sizes()
    {
        var topology = CpuCacheTopology.FromCpuid(Cpu("AuthenticAMD", 0x10, Zen5Caches()));

        Assert.Equal([48 * 1024L, 1024 * 1024L, 32 * 1024 * 1024L], topology.DataCaches.Select(c => c.SizeBytes));
        Assert.Equal([1, 1, 8], topology.DataCaches.Select(c => c.CoresSharing));
        Assert.True(topology.OneDnnCanSizeItsBlocking);
        Assert.Equal(BackwardRoute.OneDnn, TrainingBackward.Decide("auto", topology).Route);
    }

    /// <remarks>The Zen 5 VMs of issue 13: leaf 0x8000001D answers zeros, lscpu shows no cache lines.</remarks>
    [Fact]
    public void An_AMD_CPU_whose_cache_leaf_is_empty_gives_oneDNN_one_byte_caches_and_training_avoids_its_backward()
    {
        var topology = CpuCacheTopology.FromCpuid(Cpu("AuthenticAMD", 0x10, []));

        // xbyak takes three levels on AMD whatever the leaf says: (0+1)^4 = 1 byte each, never "unknown".
        Assert.Equal([1L, 1L, 1L], topology.DataCaches.Select(c => c.SizeBytes));
        Assert.False(topology.OneDnnCanSizeItsBlocking);
        var decision = TrainingBackward.Decide("auto", topology);
        Assert.Equal(BackwardRoute.LibTorchKernels, decision.Route);
        Assert.Contains("L1 1 B", decision.Reason);
    }

    [Fact]
    public void An_AMD_CPU_with_only_the_last_level_described_still_avoids_oneDNNs_backward()
    {
        var caches = Zen5Caches();
        caches.Remove((0x8000_001D, 0));
        Assert.False(CpuCacheTopology.FromCpuid(Cpu("AuthenticAMD", 0x10, caches)).OneDnnCanSizeItsBlocking);
    }

    [Fact]
    public void An_Intel_CPU_without_leaf_4_leaves_oneDNN_to_its_guesses_which_work()
    {
        var topology = CpuCacheTopology.FromCpuid(Cpu("GenuineIntel", 0x20, []));

        Assert.Empty(topology.DataCaches); // oneDNN then guesses 32 KiB / 512 KiB / 1 MiB
        Assert.True(topology.OneDnnCanSizeItsBlocking);
    }

    [Fact]
    public void An_Intel_CPU_skips_instruction_caches_and_stops_at_the_end_marker()
    {
        var topology = CpuCacheTopology.FromCpuid(Cpu("GenuineIntel", 0x20, new()
        {
            [(4, 0)] = Cache(1, 1, 2, 12, 64, 48 * 1024),
            [(4, 1)] = Cache(2, 1, 2, 8, 64, 32 * 1024),
            [(4, 2)] = Cache(3, 2, 2, 16, 64, 2048 * 1024),
            [(4, 4)] = Cache(3, 3, 64, 15, 64, 15 * 2 * 1024 * 1024), // after the end marker at sub-leaf 3: not read
        }));

        Assert.Equal([48 * 1024L, 2048 * 1024L], topology.DataCaches.Select(c => c.SizeBytes));
        Assert.True(topology.OneDnnCanSizeItsBlocking);
    }

    [Theory]
    [InlineData("on", BackwardRoute.OneDnn)]
    [InlineData("off", BackwardRoute.LibTorchKernels)]
    [InlineData(" OFF ", BackwardRoute.LibTorchKernels)]
    public void The_setting_forces_either_route_whatever_the_CPU(string setting, BackwardRoute expected)
    {
        foreach (var caches in new[] { Zen5Caches(), [] })
        {
            var decision = TrainingBackward.Decide(setting, CpuCacheTopology.FromCpuid(Cpu("AuthenticAMD", 0x10, caches)));
            Assert.Equal(expected, decision.Route);
            Assert.Contains(TrainingBackward.SettingVariable, decision.Reason);
        }
    }

    [Fact]
    public void An_unknown_setting_is_refused_with_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => TrainingBackward.Decide("fast", CpuCacheTopology.FromCpuid(Cpu("AuthenticAMD", 0x10, []))));
        Assert.Contains("auto, on, off", error.Message);
    }

    /// <summary>
    /// On this machine: Linux reads the same CPUID leaves for sysfs, so where sysfs has an L1 data cache our reading
    /// agrees with it, and where sysfs has no cache folder on an AMD CPU the reading must send training around oneDNN.
    /// </summary>
    [Fact]
    public void This_machines_reading_agrees_with_what_Linux_reads_from_the_same_leaves()
    {
        var topology = CpuCacheTopology.Read();
        string l1 = "/sys/devices/system/cpu/cpu0/cache/index0";
        if (!OperatingSystem.IsLinux() || !System.Runtime.Intrinsics.X86.X86Base.IsSupported) return;
        if (Directory.Exists(l1) && File.ReadAllText(Path.Combine(l1, "type")).Trim() == "Data")
        {
            long sysfs = long.Parse(File.ReadAllText(Path.Combine(l1, "size")).Trim().TrimEnd('K')) * 1024;
            Assert.Equal(sysfs, topology.DataCaches[0].SizeBytes);
            Assert.True(topology.OneDnnCanSizeItsBlocking, topology.Describe());
        }
        else if (topology.Vendor == "AuthenticAMD")
        {
            Assert.False(topology.OneDnnCanSizeItsBlocking, topology.Describe());
        }
    }
}
