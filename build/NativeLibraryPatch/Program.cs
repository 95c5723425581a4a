using ParticleGrid.NativeLibraryPatch;

// Usage: NativeLibraryPatch LIBRARY.so...
// For each library, marks weak the libstdc++ symbol versions this host's libstdc++ does not define.
// Prints one line per library; exit code 1 with a one-line reason when a file cannot be read as ELF.
int failures = 0;
foreach (var library in args)
{
    try
    {
        var patch = HostLibraryCompatibility.PatchForHost(library);
        if (patch.ProviderPath is null)
            Console.WriteLine($"native-patch: {library}: no host {HostLibraryCompatibility.LibStdCxx} found; left as shipped");
        else if (!patch.Changed)
            Console.WriteLine($"native-patch: {library}: host {patch.ProviderPath} nothing to change (every version it needs is there or already weak)");
        else
            foreach (var need in patch.Weakened)
                Console.WriteLine($"native-patch: {library}: {need.Version} is missing from {patch.ProviderPath}; marked weak " +
                                  $"({need.Symbols.Count} symbol(s): {string.Join(", ", need.Symbols)})");
    }
    catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"native-patch: {library}: {e.Message}");
        failures++;
    }
}
return failures == 0 ? 0 : 1;
