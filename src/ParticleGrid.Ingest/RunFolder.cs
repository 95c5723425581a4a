namespace ParticleGrid.Ingest;

/// <summary>Where a name in a run folder leads: the real file, or why it cannot be read.</summary>
/// <param name="FullPath">The file's real path (symbolic links followed), when it is inside the run folder and exists.</param>
/// <param name="Problem">Why not, when it is not.</param>
internal readonly record struct Located(string? FullPath, RejectionReason Reason, string? Problem)
{
    public static Located At(string fullPath) => new(fullPath, default, null);

    public static Located Refused(RejectionReason reason, string problem) => new(null, reason, problem);
}

/// <summary>
/// A run folder, by its real path, and the one place that turns names inside it into files. A name must stay
/// inside the folder however it is written: absolute paths and ".." are refused as written, and symbolic links are
/// followed component by component so that one leading out is caught too. Names may use '/' or '\' (instrument
/// PCs run Windows).
/// </summary>
internal sealed class RunFolder
{
    /// <summary>Symbolic links followed for one name before it counts as a loop (Linux allows 40).</summary>
    private const int MaxLinksFollowed = 40;

    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private RunFolder(string given, string root)
    {
        Given = given;
        Root = root;
    }

    /// <summary>The folder as the caller named it, for messages.</summary>
    public string Given { get; }

    /// <summary>The folder's real full path.</summary>
    public string Root { get; }

    /// <exception cref="ExportException">The path is not an existing folder.</exception>
    public static RunFolder Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? root = null;
        try
        {
            if (Directory.Exists(path))
            {
                string full = Path.GetFullPath(path), top = Path.GetPathRoot(full)!;
                root = RealPath(top, full[top.Length..]);
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ExportException(path, $"cannot be read: {e.Message}");
        }
        if (root is null) throw new ExportException(path, "not a folder (missing, or a file)");
        return new RunFolder(path, root);
    }

    /// <summary>
    /// The names of the files (<paramref name="folders"/>: false) or sub-folders (true) in <paramref name="relativeFolder"/>
    /// ("" for the top), sorted ordinally so that every read sees the same order; hidden entries are left out.
    /// </summary>
    /// <exception cref="ExportException">The folder cannot be listed.</exception>
    public IReadOnlyList<string> List(string relativeFolder, bool folders)
    {
        string folder = Path.Join(Root, relativeFolder);
        try
        {
            var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };
            IEnumerable<string> entries = folders ? Directory.EnumerateDirectories(folder, "*", options) : Directory.EnumerateFiles(folder, "*", options);
            return [.. entries.Select(entry => Path.GetFileName(entry)).Where(name => name.Length > 0 && name[0] != '.').Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExportException(folder, $"cannot be listed: {e.Message}");
        }
    }

    /// <summary>
    /// A name as a list writes it, made relative with '/' separators ("images\\p1.png" and "./images/p1.png" give
    /// "images/p1.png"); null, with the refusal, when it is empty, absolute or climbs out with "..".
    /// </summary>
    public static string? Normalize(string name, out Located refused)
    {
        refused = default;
        string[] parts = name.Trim().Replace('\\', '/').Split('/');
        string relative = string.Join('/', parts.Where(part => part is not ("" or ".")));
        if (relative.Length == 0) refused = Located.Refused(RejectionReason.BadRow, "names no file");
        else if (relative.Contains('\0')) refused = Located.Refused(RejectionReason.BadRow, $"'{relative.Replace("\0", "\\0")}' is not a file name");
        else if (parts[0].Length == 0 || Path.IsPathRooted(name.Trim()) || parts[0].EndsWith(':'))
        {
            refused = Located.Refused(RejectionReason.OutsideRunFolder, $"'{name.Trim()}' is an absolute path; files must be inside the run folder");
        }
        else if (parts.Contains(".."))
        {
            refused = Located.Refused(RejectionReason.OutsideRunFolder, $"'{name.Trim()}' climbs out with '..'; files must be inside the run folder");
        }
        return refused.Problem is null ? relative : null;
    }

    /// <summary>
    /// Finds the file a list names, relative to the folder: refused when the name is absolute or climbs out with "..",
    /// when a symbolic link on the way leads out of the folder, or when no file is there.
    /// </summary>
    public Located Locate(string name)
    {
        if (Normalize(name, out Located refused) is not { } relative) return refused;

        string? real;
        try
        {
            real = RealPath(Root, relative);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return Located.Refused(RejectionReason.MissingImage, $"'{relative}' cannot be read: {e.Message}");
        }
        if (real is null) return Located.Refused(RejectionReason.MissingImage, $"'{relative}' is a loop of symbolic links");
        if (!IsInside(real))
        {
            return Located.Refused(RejectionReason.OutsideRunFolder, $"'{relative}' is a symbolic link to {real}, outside the run folder");
        }
        if (!File.Exists(real)) return Located.Refused(RejectionReason.MissingImage, $"'{relative}' is not in the run folder");
        return Located.At(real);
    }

    private bool IsInside(string real)
    {
        string prefix = Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar;
        return real.StartsWith(prefix, PathComparison);
    }

    /// <summary>
    /// Resolves <paramref name="relative"/> against <paramref name="start"/> (itself a real path) one component at a time,
    /// following each symbolic link (whose target may hold links and ".." of its own), as the operating system would.
    /// Null when more than <see cref="MaxLinksFollowed"/> links are met (a loop).
    /// </summary>
    private static string? RealPath(string start, string relative)
    {
        var pending = new Stack<string>();
        PushComponents(pending, relative);
        string current = start;
        int linksFollowed = 0;
        while (pending.TryPop(out string? part))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Join(current, part);
            string? target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++linksFollowed > MaxLinksFollowed) return null;
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target)!;
            PushComponents(pending, Path.IsPathRooted(target) ? target[Path.GetPathRoot(target)!.Length..] : target);
        }
        return current;
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        string[] parts = path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        for (int i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }

    /// <summary>Where the symbolic link at <paramref name="path"/> points, as written; null when it is not a link (or not there).</summary>
    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null; // not a link we can read (a component is a file, the name is too long): File.Exists says no later
        }
    }
}
