using System.Buffers.Binary;
using System.Text;

namespace ParticleGrid.NativeLibraryPatch;

/// <summary>One symbol version a shared library needs from another library (an entry of <c>.gnu.version_r</c>).</summary>
/// <param name="Library">The library the version is needed from, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="IsWeak">Whether <c>VER_FLG_WEAK</c> is set: the loader then tolerates the version's absence.</param>
/// <param name="Symbols">The dynamic symbols bound to this version.</param>
/// <param name="FlagsOffset">File offset of the entry's <c>vna_flags</c> half-word.</param>
public sealed record NeededSymbolVersion(string Library, string Version, bool IsWeak, IReadOnlyList<string> Symbols, long FlagsOffset);

/// <summary>
/// Reads the GNU symbol-versioning sections of a 64-bit little-endian ELF shared library, and marks needed
/// versions weak. Everything is found by walking the section headers and the version chains, so no offset is
/// assumed.
/// </summary>
/// <remarks>
/// Why: TorchSharp's <c>libLibTorchSharp.so</c> needs <c>GLIBCXX_3.4.32</c>, which Debian 12's libstdc++ (up to
/// 3.4.30) lacks, so the loader refuses it. Only one symbol carries that version and nothing calls it, so marking
/// that need weak lets the library load; a missing symbol would still fail if it were ever called.
/// </remarks>
public static class ElfSymbolVersions
{
    public const ushort VerFlagWeak = 0x2;
    const uint ShtDynsym = 11;
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const uint ShtGnuVersym = 0x6fffffff;

    /// <summary>The version needs of <paramref name="elf"/>, with the symbols bound to each.</summary>
    public static IReadOnlyList<NeededSymbolVersion> ReadNeeded(ReadOnlySpan<byte> elf)
    {
        var sections = ReadSections(elf);
        var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed is null) return [];
        var strings = sections[(int)verneed.Link];

        var symbolsByIndex = SymbolsByVersionIndex(elf, sections);
        var result = new List<NeededSymbolVersion>();
        long entry = verneed.Offset;
        for (uint i = 0; i < verneed.Info; i++)
        {
            CheckRange(elf, entry, 16, "a .gnu.version_r entry");
            ushort auxCount = U16(elf, entry + 2);
            string library = CString(elf, strings, U32(elf, entry + 4));
            long aux = entry + U32(elf, entry + 8);
            for (int a = 0; a < auxCount; a++)
            {
                CheckRange(elf, aux, 16, "a .gnu.version_r auxiliary entry");
                ushort flags = U16(elf, aux + 4);
                ushort index = U16(elf, aux + 6);
                string version = CString(elf, strings, U32(elf, aux + 8));
                result.Add(new NeededSymbolVersion(library, version, (flags & VerFlagWeak) != 0,
                    symbolsByIndex.TryGetValue(index, out var names) ? names : [], aux + 4));
                uint nextAux = U32(elf, aux + 12);
                if (nextAux == 0) break;
                aux += nextAux;
            }
            uint next = U32(elf, entry + 12);
            if (next == 0) break;
            entry += next;
        }
        return result;
    }

    /// <summary>The version names a library defines (its <c>.gnu.version_d</c>), e.g. every GLIBCXX_* of libstdc++.</summary>
    public static IReadOnlySet<string> ReadDefined(ReadOnlySpan<byte> elf)
    {
        var sections = ReadSections(elf);
        var verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
        var defined = new HashSet<string>(StringComparer.Ordinal);
        if (verdef is null) return defined;
        var strings = sections[(int)verdef.Link];
        long entry = verdef.Offset;
        for (uint i = 0; i < verdef.Info; i++)
        {
            CheckRange(elf, entry, 20, "a .gnu.version_d entry");
            ushort auxCount = U16(elf, entry + 6);
            if (auxCount > 0)
            {
                long aux = entry + U32(elf, entry + 12);
                CheckRange(elf, aux, 8, "a .gnu.version_d auxiliary entry");
                defined.Add(CString(elf, strings, U32(elf, aux)));
            }
            uint next = U32(elf, entry + 16);
            if (next == 0) break;
            entry += next;
        }
        return defined;
    }

    /// <summary>
    /// Marks weak every version <paramref name="library"/> needs from <paramref name="provider"/> that
    /// <paramref name="providerDefines"/> lacks. Only the <c>vna_flags</c> half-words change. Returns the needs it
    /// marked (already weak ones are left as they are, so a second run changes nothing).
    /// </summary>
    public static IReadOnlyList<NeededSymbolVersion> WeakenMissing(Span<byte> library, string provider, IReadOnlySet<string> providerDefines)
    {
        var weakened = new List<NeededSymbolVersion>();
        foreach (var need in ReadNeeded(library))
        {
            if (need.Library != provider || need.IsWeak || providerDefines.Contains(need.Version)) continue;
            var flags = library.Slice((int)need.FlagsOffset, 2);
            BinaryPrimitives.WriteUInt16LittleEndian(flags, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(flags) | VerFlagWeak));
            weakened.Add(need with { IsWeak = true });
        }
        return weakened;
    }

    sealed record Section(uint Type, long Offset, long Size, uint Link, uint Info, long EntrySize);

    static List<Section> ReadSections(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2) throw new InvalidDataException("not a 64-bit ELF file");
        if (elf[5] != 1) throw new InvalidDataException("not a little-endian ELF file");

        long sectionTable = (long)U64(elf, 0x28);
        ushort entrySize = U16(elf, 0x3A);
        ushort count = U16(elf, 0x3C);
        if (sectionTable == 0 || count == 0) throw new InvalidDataException("the ELF file has no section headers");
        if (entrySize < 64) throw new InvalidDataException($"unexpected ELF section header size {entrySize}");

        var sections = new List<Section>(count);
        for (int i = 0; i < count; i++)
        {
            long h = sectionTable + (long)i * entrySize;
            CheckRange(elf, h, 64, "a section header");
            sections.Add(new Section(U32(elf, h + 4), (long)U64(elf, h + 0x18), (long)U64(elf, h + 0x20),
                U32(elf, h + 0x28), U32(elf, h + 0x2C), (long)U64(elf, h + 0x38)));
        }
        return sections;
    }

    static Dictionary<ushort, List<string>> SymbolsByVersionIndex(ReadOnlySpan<byte> elf, List<Section> sections)
    {
        var byIndex = new Dictionary<ushort, List<string>>();
        var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        if (versym is null) return byIndex;
        var dynsym = sections[(int)versym.Link];
        if (dynsym.Type != ShtDynsym || dynsym.EntrySize < 24) return byIndex;
        var strings = sections[(int)dynsym.Link];
        long symbolCount = Math.Min(versym.Size / 2, dynsym.Size / dynsym.EntrySize);
        for (long i = 0; i < symbolCount; i++)
        {
            ushort index = (ushort)(U16(elf, versym.Offset + i * 2) & 0x7fff);
            if (index < 2) continue; // 0 local, 1 global: not a named version
            string name = CString(elf, strings, U32(elf, dynsym.Offset + i * dynsym.EntrySize));
            if (!byIndex.TryGetValue(index, out var names)) byIndex[index] = names = [];
            names.Add(name);
        }
        return byIndex;
    }

    static string CString(ReadOnlySpan<byte> elf, Section strings, uint offset)
    {
        long start = strings.Offset + offset;
        CheckRange(elf, start, 1, "a string table entry");
        int length = elf[(int)start..].IndexOf((byte)0);
        if (length < 0) throw new InvalidDataException("unterminated string in the ELF string table");
        return Encoding.ASCII.GetString(elf.Slice((int)start, length));
    }

    static void CheckRange(ReadOnlySpan<byte> elf, long offset, long length, string what)
    {
        if (offset < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"truncated ELF file: {what} lies outside the file");
    }

    static ushort U16(ReadOnlySpan<byte> b, long o) => BinaryPrimitives.ReadUInt16LittleEndian(b[(int)o..]);
    static uint U32(ReadOnlySpan<byte> b, long o) => BinaryPrimitives.ReadUInt32LittleEndian(b[(int)o..]);
    static ulong U64(ReadOnlySpan<byte> b, long o) => BinaryPrimitives.ReadUInt64LittleEndian(b[(int)o..]);
}
