using System.Diagnostics;
using System.Reflection;
using ParticleGrid.NativeLibraryPatch;
using TorchSharp;

namespace ParticleGrid.Inference.Tests.NativeLibraries;

/// <summary>The GLIBCXX fix, on the real libLibTorchSharp.so that NuGet ships and on the build's own output copy.</summary>
public sealed class ElfSymbolVersionsTests : IDisposable
{
    const string NewestNeed = "GLIBCXX_3.4.32";
    readonly string scratch = Directory.CreateTempSubdirectory("pg-elf-").FullName;

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    static string PristineLibrary()
    {
        string root = typeof(ElfSymbolVersionsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        string version = typeof(torch).Assembly.GetName().Version!.ToString(3);
        string path = Path.Combine(root, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's shipped native library not found at {path}");
        return path;
    }

    string CopyOfPristine()
    {
        string copy = Path.Combine(scratch, "libLibTorchSharp.so");
        File.Copy(PristineLibrary(), copy);
        return copy;
    }

    [Fact]
    public void Reads_the_same_version_needs_as_readelf()
    {
        var needs = ElfSymbolVersions.ReadNeeded(File.ReadAllBytes(PristineLibrary()));

        var newest = Assert.Single(needs, n => n.Version == NewestNeed);
        Assert.Equal("libstdc++.so.6", newest.Library);
        Assert.False(newest.IsWeak);
        Assert.Equal(["_ZSt21ios_base_library_initv"], newest.Symbols);

        // binutils' readelf is an independent parser: every (library, version) it lists, we list too.
        var readelf = Process.Start(new ProcessStartInfo("readelf", ["-V", "-W", PristineLibrary()]) { RedirectStandardOutput = true })!;
        string listing = readelf.StandardOutput.ReadToEnd();
        readelf.WaitForExit();
        var expected = listing.Split('\n').Where(l => l.Contains("Name: ") && l.Contains("Flags:"))
            .Select(l => l[(l.IndexOf("Name: ", StringComparison.Ordinal) + 6)..].Split(' ')[0]).ToHashSet();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(), needs.Select(n => n.Version).ToHashSet().Order());
    }

    [Fact]
    public void Marks_only_the_missing_version_weak_and_changes_only_its_flag()
    {
        string copy = CopyOfPristine();
        byte[] before = File.ReadAllBytes(copy);
        var debian12 = ElfSymbolVersions.ReadNeeded(before).Select(n => n.Version).Where(v => v != NewestNeed).ToHashSet();

        byte[] after = (byte[])before.Clone();
        var weakened = ElfSymbolVersions.WeakenMissing(after, "libstdc++.so.6", debian12);

        var only = Assert.Single(weakened);
        Assert.Equal(NewestNeed, only.Version);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.Equal([(int)only.FlagsOffset], changed); // vna_flags is little-endian; WEAK (0x2) lives in its low byte
        Assert.True(ElfSymbolVersions.ReadNeeded(after).Single(n => n.Version == NewestNeed).IsWeak);
        Assert.All(ElfSymbolVersions.ReadNeeded(after).Where(n => n.Version != NewestNeed), n => Assert.False(n.IsWeak));

        // A second run finds nothing to do.
        Assert.Empty(ElfSymbolVersions.WeakenMissing(after, "libstdc++.so.6", debian12));
    }

    [Fact]
    public void Leaves_the_file_untouched_when_the_host_has_every_version()
    {
        string copy = CopyOfPristine();
        var everything = ElfSymbolVersions.ReadNeeded(File.ReadAllBytes(copy)).Select(n => n.Version).ToHashSet();
        byte[] before = File.ReadAllBytes(copy);

        Assert.Empty(ElfSymbolVersions.WeakenMissing((byte[])before.Clone(), "libstdc++.so.6", everything));
        var patch = HostLibraryCompatibility.PatchForHost(copy, providerPath: FindRealLibStdCxx());
        bool hostHasNewest = ElfSymbolVersions.ReadDefined(File.ReadAllBytes(FindRealLibStdCxx())).Contains(NewestNeed);
        Assert.Equal(!hostHasNewest, patch.Changed);
        if (hostHasNewest) Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Reads_the_versions_the_host_libstdcxx_defines()
    {
        var defined = ElfSymbolVersions.ReadDefined(File.ReadAllBytes(FindRealLibStdCxx()));
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
    }

    [Fact]
    public void The_build_patched_its_own_output_copy_only_as_the_host_needs_and_torch_loads()
    {
        bool hostHasNewest = ElfSymbolVersions.ReadDefined(File.ReadAllBytes(FindRealLibStdCxx())).Contains(NewestNeed);
        var copies = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
            Assert.Equal(!hostHasNewest, ElfSymbolVersions.ReadNeeded(File.ReadAllBytes(copy)).Single(n => n.Version == NewestNeed).IsWeak);
        Assert.False(ElfSymbolVersions.ReadNeeded(File.ReadAllBytes(PristineLibrary())).Single(n => n.Version == NewestNeed).IsWeak);

        using var sum = torch.arange(4).sum();
        Assert.Equal(6L, sum.item<long>());
    }

    [Fact]
    public void Rejects_files_that_are_not_64_bit_little_endian_elf_with_a_clear_reason()
    {
        Assert.Contains("not an ELF", Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeded("hello"u8.ToArray())).Message);
        byte[] truncated = File.ReadAllBytes(PristineLibrary())[..4096];
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeded(truncated)).Message);
    }

    static string FindRealLibStdCxx() =>
        HostLibraryCompatibility.FindHostLibrary(HostLibraryCompatibility.LibStdCxx) ?? throw new InvalidOperationException("no libstdc++.so.6 on this host");
}
