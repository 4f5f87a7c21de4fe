// The loop shared by the file-reader fuzz tests (safetensors, GGUF): each mutant is written to a
// file and exercised; the outcome must be a clean load or a LetheException whose message names the
// file — never another exception type — and the bytes allocated must stay in proportion to the
// file. Returns the counts of loaded and rejected mutants and of each mutation kind (the first word
// of its description) for the caller's own checks.
using System.Diagnostics;
using Xunit;

namespace Lethe.Tests.IO;

internal static class FuzzHarness
{
    public delegate byte[] Mutation(int index, out string description);

    public static (int loaded, int rejected, Dictionary<string, int> kinds, TimeSpan elapsed) Run(
        TempFolder dir, string extension, int mutations, Mutation mutate, Action<string, long> exercise, long allocationSlack)
    {
        int loaded = 0, rejected = 0;
        var kinds = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < mutations; i++)
        {
            var bytes = mutate(i, out string description);
            // Written without File.WriteAllBytes: it preallocates (fallocate), and freeing those
            // blocks again costs milliseconds per file on a filesystem mounted with discard.
            string path = dir.File($"mutant{i}{extension}");
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write)) stream.Write(bytes);
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                exercise(path, bytes.LongLength);
                loaded++;
            }
            catch (LetheException e)
            {
                rejected++;
                Assert.True(e.Message.Contains(path), $"mutation {i} ({description}): message does not name the file: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} ({description}) threw {e.GetType().Name} instead of a LetheException: {e}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            File.Delete(path);
            Assert.True(allocated < allocationSlack + 64L * bytes.Length, $"mutation {i} ({description}) allocated {allocated} bytes for a {bytes.Length}-byte file");
            string kind = description.Split(' ')[0];
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        return (loaded, rejected, kinds, clock.Elapsed);
    }

    /// <summary>Kinds 0..ByteMutationKinds−1 of ByteMutation.</summary>
    public const int ByteMutationKinds = 5;

    /// <summary>
    /// The byte-level mutations every reader faces: 0 up to 8 bit flips anywhere, 1 a bit flip in
    /// [headerStart, headerEnd), 2 an overwritten byte, 3 truncation, 4 up to 63 appended bytes.
    /// </summary>
    public static byte[] ByteMutation(byte[] original, int kind, int headerStart, int headerEnd, Random rng, out string description)
    {
        var b = (byte[])original.Clone();
        switch (kind)
        {
            case 0:
            {
                int flips = rng.Next(1, 9);
                for (int k = 0; k < flips; k++) { int i = rng.Next(b.Length); b[i] ^= (byte)(1 << rng.Next(8)); }
                description = $"bitflip x{flips} anywhere";
                return b;
            }
            case 1:
            {
                int i = headerStart + rng.Next(headerEnd - headerStart);
                b[i] ^= (byte)(1 << rng.Next(8));
                description = $"bitflip header byte {i}";
                return b;
            }
            case 2:
            {
                int i = rng.Next(b.Length);
                b[i] = (byte)rng.Next(256);
                description = $"overwrite byte {i}";
                return b;
            }
            case 3:
            {
                int length = rng.Next(b.Length);
                description = $"truncate to {length}";
                return b[..length];
            }
            default:
            {
                var extra = new byte[rng.Next(1, 64)];
                rng.NextBytes(extra);
                description = $"append {extra.Length} bytes";
                return b.Concat(extra).ToArray();
            }
        }
    }
}
