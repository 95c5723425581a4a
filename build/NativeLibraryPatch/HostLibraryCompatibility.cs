using System.Diagnostics;

namespace ParticleGrid.NativeLibraryPatch;

/// <summary>What <see cref="HostLibraryCompatibility.PatchForHost"/> found and did.</summary>
/// <param name="ProviderPath">The host's copy of the provider library (null when the host has none we can find).</param>
/// <param name="Weakened">The version needs that were marked weak in this run (empty when the host has them all).</param>
public sealed record HostCompatibilityPatch(string? ProviderPath, IReadOnlyList<NeededSymbolVersion> Weakened)
{
    public bool Changed => Weakened.Count > 0;
}

/// <summary>
/// Makes a shipped native library loadable on this host when it needs libstdc++ symbol versions the host lacks
/// (see <see cref="ElfSymbolVersions"/>). The build runs this on its own output copy of <c>libLibTorchSharp.so</c>;
/// on a host whose libstdc++ is new enough nothing changes.
/// </summary>
public static class HostLibraryCompatibility
{
    public const string LibStdCxx = "libstdc++.so.6";

    public static HostCompatibilityPatch PatchForHost(string libraryPath, string provider = LibStdCxx, string? providerPath = null)
    {
        providerPath ??= FindHostLibrary(provider);
        if (providerPath is null) return new HostCompatibilityPatch(null, []);

        var defined = ElfSymbolVersions.ReadDefined(File.ReadAllBytes(providerPath));
        byte[] library = File.ReadAllBytes(libraryPath);
        var weakened = ElfSymbolVersions.WeakenMissing(library, provider, defined);
        if (weakened.Count > 0)
        {
            // Write beside and rename, so a build stopped half-way never leaves a torn library.
            string temporary = libraryPath + ".patching";
            File.WriteAllBytes(temporary, library);
            File.Move(temporary, libraryPath, overwrite: true);
        }
        return new HostCompatibilityPatch(providerPath, weakened);
    }

    /// <summary>Where the dynamic loader would find <paramref name="soname"/> on this host: ldconfig's cache, then the usual directories.</summary>
    public static string? FindHostLibrary(string soname)
    {
        foreach (var candidate in FromLdconfigCache(soname).Concat(FromUsualDirectories(soname)))
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    static IEnumerable<string> FromLdconfigCache(string soname)
    {
        string? listing = null;
        foreach (var ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" })
        {
            if (!File.Exists(ldconfig)) continue;
            try
            {
                using var process = Process.Start(new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, UseShellExecute = false });
                if (process is null) continue;
                listing = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                break;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        if (listing is null) yield break;
        // Lines look like: "\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"
        foreach (var line in listing.Split('\n'))
        {
            var trimmed = line.Trim();
            if (!trimmed.StartsWith(soname + " ", StringComparison.Ordinal)) continue;
            int arrow = trimmed.IndexOf("=> ", StringComparison.Ordinal);
            if (arrow > 0) yield return trimmed[(arrow + 3)..].Trim();
        }
    }

    static IEnumerable<string> FromUsualDirectories(string soname)
    {
        var directories = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat([
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/usr/lib64", "/lib64", "/usr/local/lib", "/usr/lib", "/lib",
            ]);
        return directories.Select(d => Path.Combine(d, soname));
    }
}
