// MSBuild inline task (build/LibTorchGlibcxx.targets, shipped in the package's buildTransitive folder): rewrites
// libLibTorchSharp.so's version need GLIBCXX_3.4.32 -> GLIBCXX_3.4.30 in the output copies. See the targets file for why.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharpGlibcxx : Task
{
    private const string Needed = "GLIBCXX_3.4.32";
    private const string Replacement = "GLIBCXX_3.4.30";
    private const uint ShtGnuVerneed = 0x6ffffffe;

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        // Decided by the library, not by the building machine: the copy is patched whenever it needs GLIBCXX_3.4.32,
        // so that it loads on the systems the application goes to (Debian 12 has 3.4.30); the patched copy still
        // loads where 3.4.32 exists.
        foreach (var item in Files)
        {
            string path = item.ItemSpec;
            try
            {
                string result = Patch(path);
                Log.LogMessage(MessageImportance.High, $"GLIBCXX patch: {path}: {result}");
            }
            catch (Exception e)
            {
                Log.LogError($"GLIBCXX patch: could not patch {path}: {e.Message}");
                return false;
            }
        }

        return true;
    }

    /// <summary>Rewrites the version need in place (through a temporary file, so hard links are never written through).</summary>
    private static string Patch(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian 64-bit ELF file");

        ulong sectionOffset = BitConverter.ToUInt64(elf, 0x28);
        int sectionSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        int patched = 0, alreadyPatched = 0;

        for (int s = 0; s < sectionCount; s++)
        {
            int header = checked((int)sectionOffset + s * sectionSize);
            if (BitConverter.ToUInt32(elf, header + 4) != ShtGnuVerneed)
                continue;

            int verneed = checked((int)BitConverter.ToUInt64(elf, header + 0x18));
            int link = (int)BitConverter.ToUInt32(elf, header + 0x28);
            int stringsHeader = checked((int)sectionOffset + link * sectionSize);
            int strings = checked((int)BitConverter.ToUInt64(elf, stringsHeader + 0x18));

            int entry = verneed;
            while (true)
            {
                int auxCount = BitConverter.ToUInt16(elf, entry + 2);
                int aux = entry + (int)BitConverter.ToUInt32(elf, entry + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    int name = strings + (int)BitConverter.ToUInt32(elf, aux + 8);
                    string text = ReadString(elf, name);
                    if (text == Needed)
                    {
                        Encoding.ASCII.GetBytes(Replacement).CopyTo(elf, name);
                        BitConverter.GetBytes(ElfHash(Replacement)).CopyTo(elf, aux);
                        patched++;
                    }
                    else if (text == Replacement && BitConverter.ToUInt32(elf, aux) == ElfHash(Replacement))
                    {
                        alreadyPatched++;
                    }

                    uint nextAux = BitConverter.ToUInt32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }

                uint next = BitConverter.ToUInt32(elf, entry + 12);
                if (next == 0) break;
                entry += (int)next;
            }
        }

        if (patched == 0)
            return alreadyPatched > 0 ? "already compatible" : $"no {Needed} requirement";

        string temporary = path + ".glibcxx.tmp";
        File.WriteAllBytes(temporary, elf);
        File.Copy(temporary, path, overwrite: true);
        File.Delete(temporary);
        return $"rewrote {patched} {Needed} requirement(s) to {Replacement}";
    }

    private static string ReadString(byte[] data, int offset)
    {
        int end = Array.IndexOf(data, (byte)0, offset);
        return Encoding.ASCII.GetString(data, offset, end - offset);
    }

    /// <summary>The System V ELF hash used in vna_hash.</summary>
    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
