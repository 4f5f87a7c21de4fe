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
}
