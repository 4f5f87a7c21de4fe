// DecodeWidth picks one core or all for one-sequence decoding steps from the steps' own times
// (Models/Generation/DecodeWidth.cs). Here its choices are driven with made-up step times: it
// switches when the other width is faster, keeps its width when the other is slower and probes
// ever more rarely (the more rarely, the more a probe costs), ignores one odd pair, probes again
// soon when it chose one core while the runtime compiled methods (and only then), and leaves
// batches, one-thread runs and a disabled switch alone. Then on the shipped model: a decoding step
// on one core gives the logits of a step on both (bit for bit, in f32, bf16 and q8_0, though the
// two take different attention paths), generation with every step on one core gives the tokens of
// both cores, and the ops inside such a step see one thread (Engine.Limit), which ends with it.
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Models;

[Collection("EngineThreads")]
public class DecodeWidthTests
{
    /// <summary>Runs n one-row steps on a 2-thread setting; returns whether each ran on one core.</summary>
    private static List<bool> Run(DecodeWidth w, int n, Func<int, bool, long> ticks)
    {
        var narrow = new List<bool>(n);
        for (int i = 0; i < n; i++)
        {
            int width = w.Next(1, 2);
            Assert.True(width is 1 or 2, $"step {i}: width {width}");
            narrow.Add(width == 1);
            w.Took(1, 2, ticks(i, width == 1));
        }
        return narrow;
    }

    /// <summary>The steps at which a probe starts in a run on both cores: a one-core step after two on both (a probe is N N W N W N W).</summary>
    private static List<int> ProbeStarts(List<bool> narrow) =>
        Enumerable.Range(2, narrow.Count - 2).Where(i => narrow[i] && !narrow[i - 1] && !narrow[i - 2]).ToList();

    /// <summary>A runtime that compiles nothing during the steps (the real count moves as the test's own code is compiled).</summary>
    private static long NothingCompiled() => 0;

    [Fact]
    public void SwitchesToOneCoreWhenItsStepsAreFaster()
    {
        var w = new DecodeWidth(NothingCompiled);
        var narrow = Run(w, 14, (_, one) => one ? 70 : 100);
        // Steps 0–6 on both cores, the probe's untimed step 7 and its pairs 8–13 (one core first).
        Assert.Equal(Enumerable.Repeat(false, 7), narrow.Take(7));
        Assert.Equal(new[] { true, true, false, true, false, true, false }, narrow.Skip(7));
        Assert.True(w.Narrow);
        Assert.Equal(1, w.Counts.Switches);
        // From then on one core, both cores tried again in probes, which they lose.
        narrow = Run(w, 2000, (_, one) => one ? 70 : 100);
        Assert.True(w.Narrow);
        Assert.Equal(1, w.Counts.Switches);
        Assert.True(narrow.Count(x => !x) < 40, $"{narrow.Count(x => !x)} of 2000 steps on both cores");
    }

    [Fact]
    public void ProbesEverMoreRarelyWhenOneCoreIsClearlySlower()
    {
        var w = new DecodeWidth(NothingCompiled);
        var narrow = Run(w, 12000, (_, one) => one ? 160 : 100);
        Assert.False(w.Narrow);
        Assert.Equal(0, w.Counts.Switches);
        var starts = ProbeStarts(narrow);
        Assert.Equal(DecodeWidth.FirstPeriod - 1, starts[0]);
        // A probe takes 7 steps. Its 4 one-core steps cost 4 · 0.6 steps' time, so the first wait
        // is 200 times that (480 steps), then it doubles up to MaxPeriod.
        var waits = Enumerable.Range(1, starts.Count - 1).Select(k => starts[k] - starts[k - 1] - 2 * DecodeWidth.Pairs).ToList();
        Assert.Equal(new[] { 480, 960, 1024, 1024 }, waits.Take(4));
        Assert.All(waits.Skip(2), x => Assert.Equal(DecodeWidth.MaxPeriod, x));
        Assert.True(narrow.Count(x => x) < 0.005 * narrow.Count, $"{narrow.Count(x => x)} of {narrow.Count} steps on one core");
    }

    [Fact]
    public void ACloseCallProbesAgainAtLeastTwiceAsLateEachTime()
    {
        var w = new DecodeWidth(NothingCompiled);
        var starts = ProbeStarts(Run(w, 3000, (_, one) => one ? 102 : 100));
        Assert.False(w.Narrow);
        var waits = Enumerable.Range(1, starts.Count - 1).Select(k => starts[k] - starts[k - 1] - 2 * DecodeWidth.Pairs);
        Assert.Equal(new[] { 64, 128, 256, 512, 1024 }, waits.Take(5));
    }

    [Fact]
    public void OneOddPairDoesNotSwitch()
    {
        var w = new DecodeWidth(NothingCompiled);
        // The first pair (steps 8 and 9) has a fast one-core step; the other two pairs do not.
        Run(w, 14, (i, one) => one ? (i == 8 ? 50 : 130) : 100);
        Assert.False(w.Narrow);
        Assert.Equal(0, w.Counts.Switches);
    }

    /// <summary>
    /// 300 steps of a fresh process: for the first 200 the runtime compiles a method per step and
    /// one core is faster (the compiler takes turns on the other); then both cores are.
    /// </summary>
    private static List<bool> CompilingThenQuiet(DecodeWidth w, Action compile) =>
        Run(w, 300, (i, one) =>
        {
            if (i < 200) { compile(); return one ? 70 : 100; }
            return one ? 160 : 100;
        });

    [Fact]
    public void WhileTheRuntimeCompilesAFindingHoldsOnlyBriefly()
    {
        long compiled = 0;
        var w = new DecodeWidth(() => compiled);
        var narrow = CompilingThenQuiet(w, () => compiled++);
        // One core from the first probe (steps 7–13); probes every AfterSwitchPeriod + 6 steps keep
        // it while compiling (45, 83, 121, 159); the one at 197–203 sees both cores faster and
        // switches back; the next (236–242) loses, and is the only one-core time after it.
        Assert.True(narrow.Skip(14).Take(31).All(x => x), "one core after the first probe");
        Assert.Equal(2, w.Counts.Switches);
        Assert.False(w.Narrow);
        Assert.Equal(4, narrow.Skip(204).Count(x => x));
        // With no compiling counted, the same times keep one core for 343 steps after the probe at
        // 45 (which found both cores 1.43 times slower): all of the last 100 steps.
        var unaware = new DecodeWidth(NothingCompiled);
        narrow = CompilingThenQuiet(unaware, () => { });
        Assert.True(unaware.Narrow);
        Assert.True(narrow.Skip(200).All(x => x));
    }

    [Fact]
    public void CompilingDoesNotShortenTheWaitOnAllCores()
    {
        // Both cores faster throughout while methods are compiled: the waits grow as without compiling.
        long compiled = 0;
        var w = new DecodeWidth(() => compiled);
        var starts = ProbeStarts(Run(w, 3000, (_, one) => { compiled++; return one ? 102 : 100; }));
        Assert.False(w.Narrow);
        var waits = Enumerable.Range(1, starts.Count - 1).Select(k => starts[k] - starts[k - 1] - 2 * DecodeWidth.Pairs);
        Assert.Equal(new[] { 64, 128, 256, 512, 1024 }, waits.Take(5));
    }

    [Fact]
    public void LeavesBatchesOneThreadAndADisabledSwitchAlone()
    {
        var w = new DecodeWidth(NothingCompiled);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(2, w.Next(3, 2)); w.Took(3, 2, i % 2 == 0 ? 1 : 1000);
            Assert.Equal(1, w.Next(1, 1)); w.Took(1, 1, 5);
        }
        Assert.Equal((0L, 0L, 0L), w.Counts);
        bool saved = DecodeWidth.Enabled;
        DecodeWidth.Enabled = false;
        try
        {
            for (int i = 0; i < 100; i++) { Assert.Equal(2, w.Next(1, 2)); w.Took(1, 2, 1); }
            Assert.Equal(0, w.Counts.Steps);
        }
        finally { DecodeWidth.Enabled = saved; }
    }

    [Fact]
    public void ALimitHoldsOnlyOnItsThreadAndEndsWithItsScope()
    {
        int saved = Lethe.Tensors.Engine.Threads;
        Lethe.Tensors.Engine.Threads = 4;
        try
        {
            using (Lethe.Tensors.Engine.Limit(2))
            {
                Assert.Equal(2, Lethe.Tensors.Engine.Threads);
                // A limit inside another keeps the smaller; each ends with its scope.
                using (Lethe.Tensors.Engine.Limit(1)) Assert.Equal(1, Lethe.Tensors.Engine.Threads);
                using (Lethe.Tensors.Engine.Limit(3)) Assert.Equal(2, Lethe.Tensors.Engine.Threads);
                Assert.Equal(2, Lethe.Tensors.Engine.Threads);
                int other = 0;
                var t = new Thread(() => other = Lethe.Tensors.Engine.Threads);
                t.Start(); t.Join();
                Assert.Equal(4, other);
            }
            Assert.Equal(4, Lethe.Tensors.Engine.Threads);
            // A limit above the setting does not raise it.
            using (Lethe.Tensors.Engine.Limit(8)) Assert.Equal(4, Lethe.Tensors.Engine.Threads);
        }
        finally { Lethe.Tensors.Engine.Threads = saved; }
    }

    /// <summary>The logits of a prefill on 2 threads and 8 greedy one-row decoding steps, each step under Engine.Limit(stepThreads).</summary>
    private static List<float[]> StepLogits(TransformerModel m, int stepThreads)
    {
        int[] prompt = { 0, 17, 240, 9, 311, 42, 8, 77, 5 };
        int V = m.Config.VocabSize;
        var all = new List<float[]>();
        using var noGrad = Lethe.Tensors.Autograd.Tape.NoGrad();
        using var cache = new KvCache(m.Config, 1, prompt.Length + 8);
        var logits = m.Forward(prompt, 1, new ForwardOptions { Cache = cache, KeyStart = new[] { 0 }, LogitRows = new[] { prompt.Length - 1 } }).ToArray();
        for (int s = 0; s < 8; s++)
        {
            int next = Sampler.ArgMax(logits.AsSpan(0, V));
            using (Lethe.Tensors.Engine.Limit(stepThreads))
            {
                // The two widths take different paths: on 2 threads the attention half is one job split by KV heads.
                Assert.Equal(stepThreads == 2, m.DecodeAttendsByKvHeads(1));
                logits = m.Forward(new[] { next }, 1, new ForwardOptions { Cache = cache, KeyStart = new[] { 0 }, LogitRows = new[] { 0 } }).ToArray();
            }
            all.Add(logits);
        }
        return all;
    }

    [Fact]
    public void AStepOnOneCoreGivesTheBitsOfBothCoresInEveryDtype()
    {
        using var models = new ShippedModelInDtypes();
        int saved = Lethe.Tensors.Engine.Threads;
        Lethe.Tensors.Engine.Threads = 2;
        try
        {
            foreach (var (m, name) in models.All)
            {
                var both = StepLogits(m, stepThreads: 2);
                var one = StepLogits(m, stepThreads: 1);
                for (int s = 0; s < both.Count; s++) Assert.True(both[s].SequenceEqual(one[s]), $"{name}: step {s}'s logits differ between one core and two");
            }
        }
        finally { Lethe.Tensors.Engine.Threads = saved; }
    }

    [Fact]
    public void StepsOnOneCoreGiveTheTokensOfBothCores()
    {
        using var q8 = ModelLoader.Load(ShippedModel.Find());
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
        int[][] prompts = { new[] { 0, 17, 240, 9, 311, 42, 8 } };
        var options = new GenerationOptions { MaxNewTokens = 40, EosIds = Array.Empty<int>() };
        int saved = Lethe.Tensors.Engine.Threads;
        bool savedEnabled = DecodeWidth.Enabled;
        Lethe.Tensors.Engine.Threads = 2;
        try
        {
            DecodeWidth.Enabled = false;
            var both = new Generator(q8).Generate(prompts, options)[0];
            Assert.Equal(0, q8.DecodeWidth.Counts.Steps);
            DecodeWidth.Enabled = true;
            q8.DecodeWidth.Settle(narrow: true);
            var one = new Generator(q8).Generate(prompts, options)[0];
            var (steps, narrowSteps, _) = q8.DecodeWidth.Counts;
            Assert.Equal(options.MaxNewTokens - 1, steps);   // the first token comes from the prefill
            Assert.Equal(steps, narrowSteps);
            Assert.Equal(both, one);
            // Inside a narrowed step the ops see one thread (a hook reads it), the prefill both.
            var seen = new List<int>();
            var hooks = new HookSet().Add(HookNames.Logits, (_, a) => { seen.Add(Lethe.Tensors.Engine.Threads); return null; });
            new Generator(q8).Generate(prompts, options with { MaxNewTokens = 4, Hooks = hooks });
            Assert.Equal(new[] { 2, 1, 1, 1 }, seen);
            Assert.Equal(2, Lethe.Tensors.Engine.Threads);
        }
        finally { Lethe.Tensors.Engine.Threads = saved; DecodeWidth.Enabled = savedEnabled; }
    }
}
