using Lethe.Models.Training;
using Xunit;

namespace Lethe.Tests.Models;

public class TrainingBatchTests
{
    [Fact]
    public void TokenStreamShiftsTargetsByOneAndResumesFromPosition()
    {
        var tokens = Enumerable.Range(0, 20).ToArray();
        var src = new TokenStreamSource(tokens, batch: 2, length: 4);
        var b = src.Next();
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, b.Ids);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, b.Targets);
        long pos = src.Position;
        var expected = src.Next();
        var resumed = new TokenStreamSource(tokens, 2, 4) { Position = pos };
        Assert.Equal(expected, resumed.Next() with { }, new BatchComparer());
        Assert.Throws<LetheException>(() => new TokenStreamSource(new[] { 1, 2 }, 1, 4));
    }

    [Fact]
    public void PromptTokensAndPaddingAreNotTargets()
    {
        var examples = new List<(int[], int[])> { (new[] { 10, 11, 12 }, new[] { 20, 21 }), (new[] { 10 }, new[] { 30 }) };
        var src = new PromptAnswerSource(examples, batch: 2, maxLength: 16, padId: 0, seed: 1);
        var b = src.Next();
        Assert.Equal(4, b.Length);
        for (int r = 0; r < 2; r++)
        {
            var ids = b.Ids.AsSpan(r * 4, 4).ToArray(); var tg = b.Targets.AsSpan(r * 4, 4).ToArray();
            if (ids[1] == 11) // the long example: predicts 20 after 12, 21 after 20
                Assert.Equal(new[] { -100, -100, 20, 21 }, tg);
            else
            {
                Assert.Equal(new[] { 10, 30, 0, 0 }, ids);
                Assert.Equal(new[] { 30, -100, -100, -100 }, tg);
            }
        }
        Assert.Equal(3, b.CountedTokens);
    }

    [Fact]
    public void ShuffledOrderIsSeededAndResumable()
    {
        var examples = Enumerable.Range(0, 7).Select(i => (new[] { 1 }, new[] { 100 + i })).ToList();
        int[] Run(PromptAnswerSource s, int n) => Enumerable.Range(0, n).Select(_ => s.Next().Targets[0]).ToArray(); // the answer token
        var a = Run(new PromptAnswerSource(examples, 1, 8, 0, seed: 3), 20);
        Assert.Equal(a, Run(new PromptAnswerSource(examples, 1, 8, 0, seed: 3), 20));
        Assert.Equal(Enumerable.Range(100, 7), a.Take(7).OrderBy(x => x)); // one epoch visits each once
        var resumed = new PromptAnswerSource(examples, 1, 8, 0, seed: 3) { Position = 9 };
        Assert.Equal(a.Skip(9), Run(resumed, 11));
    }

    [Fact]
    public void PoolsGiveTheirSharesWhateverTheirSizesAndResumeExactly()
    {
        // Pool 0 has 50 examples (answers 1000..1049), pool 1 only 3 (2000..2002), pool 2 has 20 (3000..3019).
        var pools = new List<List<(int[], int[])>>
        {
            Enumerable.Range(0, 50).Select(i => (new[] { 1 }, new[] { 1000 + i })).ToList(),
            Enumerable.Range(0, 3).Select(i => (new[] { 1 }, new[] { 2000 + i })).ToList(),
            Enumerable.Range(0, 20).Select(i => (new[] { 1 }, new[] { 3000 + i })).ToList(),
        };
        double[] shares = { 1, 2, 1 };
        var src = new PromptAnswerSource(pools, shares, batch: 4, maxLength: 8, padId: 0, seed: 5);
        var answers = new List<int>();
        for (int b = 0; b < 100; b++) { var batch = src.Next(); for (int r = 0; r < 4; r++) answers.Add(batch.Targets[r * batch.Length]); }
        // 400 rows in shares 1 : 2 : 1, exactly (the round robin pays out every 4 rows).
        Assert.Equal(100, answers.Count(a => a / 1000 == 1));
        Assert.Equal(200, answers.Count(a => a / 1000 == 2));
        Assert.Equal(100, answers.Count(a => a / 1000 == 3));
        // Every 4 consecutive rows hold each pool its share: the shares hold within a batch, not only on average.
        for (int k = 0; k < 400; k += 4) Assert.Equal(2, answers.Skip(k).Take(4).Count(a => a / 1000 == 2));
        // Each pool goes through its own shuffled epochs: the small pool's first 3 rows are its 3 examples.
        Assert.Equal(new[] { 2000, 2001, 2002 }, answers.Where(a => a / 1000 == 2).Take(3).OrderBy(a => a));
        // Resume: a source set to a position continues with the same rows.
        var resumed = new PromptAnswerSource(pools, shares, 4, 8, 0, seed: 5) { Position = 4 * 37 };
        var rest = new List<int>();
        for (int b = 37; b < 100; b++) { var batch = resumed.Next(); for (int r = 0; r < 4; r++) rest.Add(batch.Targets[r * batch.Length]); }
        Assert.Equal(answers.Skip(4 * 37), rest);
        // One pool is the single-list source, row for row.
        var one = new PromptAnswerSource(new[] { pools[0] }, new[] { 3.0 }, 4, 8, 0, seed: 5);
        var plain = new PromptAnswerSource(pools[0], 4, 8, 0, seed: 5);
        for (int b = 0; b < 30; b++) Assert.Equal(plain.Next(), one.Next(), new BatchComparer());
        // Shares must be one positive number per pool.
        Assert.Throws<LetheException>(() => new PromptAnswerSource(pools, new[] { 1.0, 2.0 }, 4, 8, 0, 5));
        Assert.Throws<LetheException>(() => new PromptAnswerSource(pools, new[] { 1.0, 0.0, 1.0 }, 4, 8, 0, 5));
        Assert.Throws<LetheException>(() => new PromptAnswerSource(pools, new[] { 1.0, double.NaN, 1.0 }, 4, 8, 0, 5));
    }

    private sealed class BatchComparer : IEqualityComparer<TrainingBatch>
    {
        public bool Equals(TrainingBatch? x, TrainingBatch? y) => x!.Ids.SequenceEqual(y!.Ids) && x.Targets.SequenceEqual(y.Targets);
        public int GetHashCode(TrainingBatch b) => b.Ids.Length;
    }
}
