"""Does TorchSharp's native binding fit a given libtorch? Counts what libLibTorchSharp.so needs that is not there.

TorchSharp 0.107's libLibTorchSharp.so was built against libtorch 2.10. Loaded beside another libtorch (the GPU
machine's Python has torch 2.11), every C++ symbol it imports must still be exported, or the dynamic loader refuses
it (the first missing one is all dlopen says). This reads the ELF dynamic symbol tables directly, so it needs
neither .NET nor binutils nor torch, and lists every missing symbol, not only the first.

    python3 elf_symbols.py --binding PATH/libLibTorchSharp.so --lib-dir TORCH/lib [--json FILE] [--no-dlopen]

Searched for definitions: every *.so* in --lib-dir, and the C/C++ runtime libraries this Python process has mapped
after loading libstdc++ and libgcc_s (what the dynamic loader would use). Then, unless --no-dlopen, it tries the real
thing: the libtorch libraries are loaded from --lib-dir (RTLD_GLOBAL) and the binding with RTLD_NOW, and dlopen's
answer is reported. Exit code 0 when it binds (no libtorch symbol missing and dlopen succeeded), 1 when it does not.
"""
import argparse
import ctypes
import glob
import json
import os
import shutil
import struct
import subprocess
import sys

SHT_DYNSYM = 11
STB_WEAK = 2
SHN_UNDEF = 0

# Names of the C/C++ runtime (std::, the C++ ABI, the unwinder) rather than libtorch's. One such is expected missing on
# hosts with an older libstdc++ than TorchSharp's build machine (std::ios_base_library_init, GLIBCXX_3.4.32), which the
# build's NativeLibraryPatch makes harmless; they are counted apart so they do not read as a libtorch mismatch.
RUNTIME_PREFIXES = ("_ZSt", "_ZNSt", "_ZNKSt", "_ZTISt", "_ZTSSt", "_ZTVSt", "__cxa", "__gxx", "_Unwind", "__stack_chk")

# The order in which libtorch's libraries depend on each other: each is loaded after the ones it needs.
TORCH_LOAD_ORDER = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"]


def dynamic_symbols(path):
    """(defined, undefined) dynamic symbol names of a 64-bit little-endian ELF file; undefined as {name: is_weak}."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    defined, undefined = set(), {}
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != SHT_DYNSYM or entsize == 0:
            continue
        strtab_offset = sections[link][4]
        for i in range(1, size // entsize):
            st_name, st_info, _other, st_shndx, _value, _size = struct.unpack_from("<IBBHQQ", data, offset + i * entsize)
            end = data.index(b"\0", strtab_offset + st_name)
            name = data[strtab_offset + st_name:end].decode("utf-8", "replace")
            if not name:
                continue
            if st_shndx == SHN_UNDEF:
                undefined[name] = (st_info >> 4) == STB_WEAK
            else:
                defined.add(name)
    return defined, undefined


def runtime_libraries():
    """The C and C++ runtime libraries the loader would give the binding: what this process maps once they are loaded."""
    for name in ("libstdc++.so.6", "libgcc_s.so.1", "libm.so.6"):
        try:
            ctypes.CDLL(name)
        except OSError:
            pass
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path)
            if path.startswith("/") and base.startswith(("libstdc++", "libgcc_s", "libm.so", "libm-", "libc.so", "libc-", "ld-linux")):
                paths.add(path)
    return sorted(paths)


def demangle(names):
    """c++filt's reading of the names where binutils is installed (for the report only); else the names as they are."""
    tool = shutil.which("c++filt")
    if not tool or not names:
        return list(names)
    try:
        out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True, timeout=30).stdout.splitlines()
        return out if len(out) == len(names) else list(names)
    except (OSError, subprocess.SubprocessError):
        return list(names)


def try_dlopen(binding, lib_dir):
    loaded = []
    for name in TORCH_LOAD_ORDER:
        path = os.path.join(lib_dir, name)
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                loaded.append(name)
            except OSError as e:
                return {"ok": False, "preloaded": loaded, "error": f"{name}: {e}"}
    try:
        ctypes.CDLL(os.path.abspath(binding), mode=os.RTLD_NOW | ctypes.RTLD_GLOBAL)
        return {"ok": True, "preloaded": loaded, "error": None}
    except OSError as e:
        return {"ok": False, "preloaded": loaded, "error": str(e)}


def check(binding, lib_dir, dlopen=True, listed=40):
    providers = sorted(set(glob.glob(os.path.join(lib_dir, "*.so")) + glob.glob(os.path.join(lib_dir, "*.so.*"))))
    providers += [p for p in runtime_libraries() if p not in providers]
    available = set()
    for path in providers:
        try:
            available |= dynamic_symbols(path)[0]
        except (OSError, ValueError):
            pass
    _, needed = dynamic_symbols(binding)
    missing_all = sorted(name for name, weak in needed.items() if not weak and name not in available)
    missing = [name for name in missing_all if not name.startswith(RUNTIME_PREFIXES)]
    missing_runtime = [name for name in missing_all if name.startswith(RUNTIME_PREFIXES)]
    missing_weak = sorted(name for name, weak in needed.items() if weak and name not in available)
    result = {
        "binding": os.path.abspath(binding),
        "lib_dir": os.path.abspath(lib_dir),
        "searched": [os.path.basename(p) for p in providers],
        "imported_symbols": len(needed),
        "missing_symbols": len(missing),
        "missing_runtime_symbols": len(missing_runtime),
        "missing_runtime": demangle(missing_runtime[:listed]),
        "missing_weak_symbols": len(missing_weak),
        "missing_first": demangle(missing[:listed]),
        "missing_first_mangled": missing[:listed],
    }
    if dlopen:
        result["dlopen"] = try_dlopen(binding, lib_dir)
    result["binds"] = not missing and (not dlopen or result["dlopen"]["ok"])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binding", required=True, help="libLibTorchSharp.so")
    parser.add_argument("--lib-dir", required=True, help="the libtorch lib folder to bind to")
    parser.add_argument("--json", help="write the result here as JSON")
    parser.add_argument("--no-dlopen", action="store_true", help="count symbols only; load nothing")
    args = parser.parse_args()
    result = check(args.binding, args.lib_dir, dlopen=not args.no_dlopen)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(f"binding: {result['imported_symbols']} symbols imported, {result['missing_symbols']} missing from libtorch "
          f"({result['missing_runtime_symbols']} C++ runtime and {result['missing_weak_symbols']} weak ones missing too) in {result['lib_dir']}"
          + (f"; dlopen: {'ok' if result['dlopen']['ok'] else result['dlopen']['error']}" if "dlopen" in result else ""))
    for name in result["missing_first"][:10]:
        print(f"  missing: {name}")
    return 0 if result["binds"] else 1


if __name__ == "__main__":
    sys.exit(main())
