using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public class EngineForTests
{
    [Fact]
    public void EveryIndexRunsExactlyOnceIncludingNestedAndConcurrentCalls()
    {
        // Several threads at once, each with nested Fors: the busy team falls back to the pool,
        // and every index is still visited exactly once.
        var counts = new int[8][];
        Parallel.For(0, 8, t =>
        {
            counts[t] = new int[10_000];
            for (int rep = 0; rep < 20; rep++)
                Lethe.Tensors.Engine.For(10_000, 100, (s, e) =>
                {
                    Lethe.Tensors.Engine.For(e - s, 10, (s2, e2) => { for (int i = s + s2; i < s + e2; i++) Interlocked.Increment(ref counts[t][i]); });
                });
        });
        Assert.All(counts, c => Assert.All(c, v => Assert.Equal(20, v)));
    }

    [Fact]
    public void BackToBackJobsRunEveryChunkOnce()
    {
        // The caller and the workers take chunks from one counter per job, and a worker may wake
        // after its job has ended: many short jobs in a row must still run each chunk exactly once.
        int saved = Lethe.Tensors.Engine.Threads;
        try
        {
            Lethe.Tensors.Engine.Threads = Math.Max(2, Environment.ProcessorCount);
            var counts = new int[16];
            for (int job = 0; job < 20_000; job++)
                Lethe.Tensors.Engine.For(counts.Length, 1, (s, e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref counts[i]); });
            Assert.All(counts, c => Assert.Equal(20_000, c));
        }
        finally { Lethe.Tensors.Engine.Threads = saved; }
    }

    [Fact]
    public void AnExceptionInANestedForReachesTheCallerAsItself()
    {
        // A nested For finds the team busy and runs on the thread pool: its failure must not arrive wrapped.
        var e = Assert.Throws<InvalidOperationException>(() => Lethe.Tensors.Engine.For(1000, 10, (s, _) =>
        {
            if (s == 0) Lethe.Tensors.Engine.For(1000, 10, (a, _) => { if (a > 0) throw new InvalidOperationException("inner chunk failed"); });
        }));
        Assert.Equal("inner chunk failed", e.Message);
    }

    [Fact]
    public void AnExceptionInAChunkReachesTheCaller()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            Lethe.Tensors.Engine.For(1000, 10, (s, _) => { if (s > 0) throw new InvalidOperationException("chunk failed"); }));
        Assert.Equal("chunk failed", e.Message);
        int sum = 0;
        Lethe.Tensors.Engine.For(1000, 10, (s, e2) => Interlocked.Add(ref sum, e2 - s)); // the team still works
        Assert.Equal(1000, sum);
    }
}
