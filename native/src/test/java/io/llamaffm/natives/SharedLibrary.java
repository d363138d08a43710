package io.llamaffm.natives;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads what a shared library exports and which libraries it needs, for the three formats the natives jars
 * hold: ELF (Linux), PE32+ (Windows DLL) and Mach-O 64 (macOS). Enough to check a jar built for a platform
 * this machine cannot run.
 */
record SharedLibrary(String format, Set<String> exports, List<String> needed) {

    static SharedLibrary read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) == 0x464C457F) {
            return elf(b);
        } else if (b.getShort(0) == 0x5A4D) {
            return pe(b);
        } else if (b.getInt(0) == 0xFEEDFACF) {
            return macho(b);
        }
        throw new IOException(file + ": not an ELF, PE or Mach-O 64 file");
    }

    private static String cstring(ByteBuffer b, int offset) {
        int end = offset;
        while (b.get(end) != 0) {
            end++;
        }
        byte[] s = new byte[end - offset];
        b.get(offset, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static SharedLibrary elf(ByteBuffer b) throws IOException {
        if (b.get(4) != 2 || b.get(5) != 1) {
            throw new IOException("only 64-bit little-endian ELF is expected");
        }
        long shoff = b.getLong(0x28);
        int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
        int shnum = Short.toUnsignedInt(b.getShort(0x3C));
        Set<String> exports = new TreeSet<>();
        List<String> needed = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            int type = b.getInt(sh + 4);
            int offset = (int) b.getLong(sh + 0x18);
            int size = (int) b.getLong(sh + 0x20);
            int link = b.getInt(sh + 0x28);
            int strtab = (int) b.getLong((int) (shoff + (long) link * shentsize) + 0x18);
            if (type == 11) { // SHT_DYNSYM
                for (int s = offset; s + 24 <= offset + size; s += 24) {
                    int bind = (b.get(s + 4) & 0xFF) >> 4;
                    int shndx = Short.toUnsignedInt(b.getShort(s + 6));
                    if (shndx != 0 && (bind == 1 || bind == 2)) {
                        exports.add(cstring(b, strtab + b.getInt(s)));
                    }
                }
            } else if (type == 6) { // SHT_DYNAMIC
                for (int d = offset; d + 16 <= offset + size; d += 16) {
                    if (b.getLong(d) == 1) { // DT_NEEDED
                        needed.add(cstring(b, strtab + (int) b.getLong(d + 8)));
                    }
                }
            }
        }
        return new SharedLibrary("ELF", exports, needed);
    }

    private static SharedLibrary pe(ByteBuffer b) throws IOException {
        int pe = b.getInt(0x3C);
        if (b.getInt(pe) != 0x00004550) {
            throw new IOException("missing PE signature");
        }
        int coff = pe + 4;
        int sections = Short.toUnsignedInt(b.getShort(coff + 2));
        int optSize = Short.toUnsignedInt(b.getShort(coff + 16));
        int opt = coff + 20;
        if (Short.toUnsignedInt(b.getShort(opt)) != 0x20B) {
            throw new IOException("only PE32+ is expected");
        }
        int[][] table = new int[sections][];
        for (int i = 0; i < sections; i++) {
            int s = opt + optSize + i * 40;
            table[i] = new int[] {b.getInt(s + 12), Math.max(b.getInt(s + 8), b.getInt(s + 16)), b.getInt(s + 20)};
        }
        java.util.function.IntUnaryOperator at = rva -> {
            for (int[] s : table) {
                if (rva >= s[0] && rva < s[0] + s[1]) {
                    return rva - s[0] + s[2];
                }
            }
            throw new IllegalArgumentException("RVA " + rva + " maps to no section");
        };
        Set<String> exports = new TreeSet<>();
        int exportRva = b.getInt(opt + 112);
        if (exportRva != 0) {
            int dir = at.applyAsInt(exportRva);
            int names = b.getInt(dir + 24);
            int nameTable = at.applyAsInt(b.getInt(dir + 32));
            for (int i = 0; i < names; i++) {
                exports.add(cstring(b, at.applyAsInt(b.getInt(nameTable + i * 4))));
            }
        }
        List<String> needed = new ArrayList<>();
        int importRva = b.getInt(opt + 120);
        if (importRva != 0) {
            for (int d = at.applyAsInt(importRva); b.getInt(d + 12) != 0; d += 20) {
                needed.add(cstring(b, at.applyAsInt(b.getInt(d + 12))));
            }
        }
        return new SharedLibrary("PE32+", exports, needed);
    }

    private static SharedLibrary macho(ByteBuffer b) {
        int ncmds = b.getInt(16);
        Set<String> exports = new TreeSet<>();
        List<String> needed = new ArrayList<>();
        int cmd = 32;
        for (int i = 0; i < ncmds; i++) {
            int type = b.getInt(cmd);
            int size = b.getInt(cmd + 4);
            if (type == 0x2) { // LC_SYMTAB
                int symoff = b.getInt(cmd + 8), nsyms = b.getInt(cmd + 12), stroff = b.getInt(cmd + 16);
                for (int s = 0; s < nsyms; s++) {
                    int n = symoff + s * 16;
                    int ntype = b.get(n + 4) & 0xFF;
                    if ((ntype & 0xE0) == 0 && (ntype & 0x01) != 0 && (ntype & 0x0E) == 0x0E) { // N_EXT, N_SECT, no stab
                        String name = cstring(b, stroff + b.getInt(n));
                        exports.add(name.startsWith("_") ? name.substring(1) : name);
                    }
                }
            } else if (type == 0xC || type == 0x80000018 || type == 0x8000001F) { // LC_LOAD_(WEAK_|REEXPORT_)DYLIB
                needed.add(cstring(b, cmd + b.getInt(cmd + 8)));
            }
            cmd += size;
        }
        return new SharedLibrary("Mach-O", exports, needed);
    }
}
