// DecodeBatch with sequences that join while others decode and leave when done: each sequence's
// tokens equal what it generates alone (greedy and seeded sampling), whether its prompt is longer
// (the others get more left padding) or shorter than theirs; admission keeps every row inside the
// cache's capacity; a cancelled sequence leaves at the next step; an abstaining intervention stops
// only the sequences it flags.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Serving;

public class DecodeBatchTests
{
    private static TransformerModel Load(string name) => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name));

    private static List<int> Alone(TransformerModel m, int[] prompt, int maxNew, SamplingOptions sampling) =>
        new Generator(m).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = maxNew, EosIds = Array.Empty<int>(), Sampling = sampling })[0];

    [Theory]
    [InlineData("llama", 0f, DType.F32)]
    [InlineData("llama", 0.9f, DType.F32)]
    [InlineData("mistral", 0f, DType.F32)]   // sliding window: positions must stay exact after shifts
    [InlineData("gpt2", 0f, DType.F32)]      // learned positions
    [InlineData("llama", 0.9f, DType.BF16)]  // a 16-bit cache: its rows moved by Keep, Shift and Append
    [InlineData("mistral", 0f, DType.F16)]
    public void SequencesJoiningMidwayGenerateWhatTheyGenerateAlone(string model, float temperature, DType kvCache)
    {
        using var m = Load(model);
        m.KvCacheStorage = kvCache;
        var prompts = new[] { new[] { 0, 5, 9 }, new[] { 0, 11, 12, 13, 14, 15, 16, 17, 18 }, new[] { 0, 30 }, new[] { 0, 7, 8, 9, 10 } };
        int[] maxNew = { 12, 6, 9, 4 };
        int[] joinAt = { 0, 3, 4, 4 };   // the step before which each sequence is added
        var sampling = prompts.Select((_, i) => new SamplingOptions { Temperature = temperature, Seed = (ulong)(40 + i) }).ToArray();
        using var batch = new DecodeBatch(m, new DecodeBatchOptions { MaxRows = 4, Capacity = 40, EosIds = Array.Empty<int>() });
        var seqs = prompts.Select((p, i) => new DecodeSequence(p, maxNew[i], sampling[i])).ToArray();
        int step = 0;
        while (step < 30 && (step <= joinAt.Max() || batch.Count > 0))
        {
            for (int i = 0; i < seqs.Length; i++)
                if (joinAt[i] == step) { Assert.True(batch.CanAdd(seqs[i])); batch.Add(seqs[i]); }
            batch.Step();
            step++;
        }
        for (int i = 0; i < seqs.Length; i++)
        {
            Assert.Equal(FinishReason.Length, seqs[i].Finish);
            Assert.Equal(Alone(m, prompts[i], maxNew[i], sampling[i]), seqs[i].Tokens);
        }
    }

    [Fact]
    public void AdmissionKeepsEveryRowInsideTheCapacity()
    {
        using var m = Load("llama");
        using var batch = new DecodeBatch(m, new DecodeBatchOptions { MaxRows = 4, Capacity = 20, EosIds = Array.Empty<int>() });
        var longRun = new DecodeSequence(new[] { 0, 1, 2 }, 15, new SamplingOptions());
        batch.Add(longRun);
        batch.Step();
        // The running row holds 3 + 1 positions and needs 14 more: a 10-token prompt would need 10 + 14 > 20.
        var tooLong = new DecodeSequence(Enumerable.Range(0, 10).ToArray(), 2, new SamplingOptions());
        Assert.False(batch.CanAdd(tooLong));
        Assert.Throws<LetheException>(() => batch.Add(tooLong));
        var fits = new DecodeSequence(new[] { 0, 4 }, 3, new SamplingOptions());
        Assert.True(batch.CanAdd(fits));
        batch.Add(fits);
        while (batch.Count > 0) batch.Step();
        Assert.Equal(15, longRun.Tokens.Count);
        Assert.Equal(Alone(m, new[] { 0, 4 }, 3, new SamplingOptions()), fits.Tokens);
        // Once the batch is empty the long prompt runs.
        Assert.True(batch.CanAdd(tooLong));
        Assert.False(batch.Fits(19, 2));
    }

    [Fact]
    public void ACancelledSequenceLeavesAtTheNextStepAndTheOthersGoOn()
    {
        using var m = Load("llama");
        using var cts = new CancellationTokenSource();
        using var batch = new DecodeBatch(m, new DecodeBatchOptions { MaxRows = 2, Capacity = 30, EosIds = Array.Empty<int>() });
        var cancelled = new DecodeSequence(new[] { 0, 5, 6 }, 20, new SamplingOptions(), cancel: cts.Token);
        var other = new DecodeSequence(new[] { 0, 9 }, 8, new SamplingOptions());
        batch.Add(cancelled); batch.Add(other);
        batch.Step(); batch.Step();
        cts.Cancel();
        var finished = batch.Step();
        Assert.Contains(cancelled, finished);
        Assert.Equal(FinishReason.Cancelled, cancelled.Finish);
        Assert.Equal(2, cancelled.Tokens.Count);
        while (batch.Count > 0) batch.Step();
        Assert.Equal(Alone(m, new[] { 0, 9 }, 8, new SamplingOptions()), other.Tokens);
    }

    [Fact]
    public void AnInterventionThatAbstainsStopsOnlyTheSequenceItFlags()
    {
        using var m = Load("llama");
        // Flags the sequence whose newest position is position 5 (its 6th token): the 3-token prompt after 3 new tokens.
        var flagAt = new FlagAtPosition(5);
        using var batch = new DecodeBatch(m, new DecodeBatchOptions { MaxRows = 2, Capacity = 30, EosIds = Array.Empty<int>(), Intervention = flagAt });
        var flagged = new DecodeSequence(new[] { 0, 5, 6 }, 10, new SamplingOptions());
        var spared = new DecodeSequence(new[] { 0, 9, 3, 4, 8, 10, 11 }, 6, new SamplingOptions());
        batch.Add(flagged);
        batch.Step();
        batch.Add(spared);   // joins later with a longer prompt: its rows never sit at position 5 in a pass
        while (batch.Count > 0) batch.Step();
        Assert.Equal(FinishReason.Abstained, flagged.Finish);
        Assert.Equal(Alone(m, new[] { 0, 5, 6 }, 3, new SamplingOptions()), flagged.Tokens);
        Assert.Equal(FinishReason.Length, spared.Finish);
        Assert.Equal(Alone(m, new[] { 0, 9, 3, 4, 8, 10, 11 }, 6, new SamplingOptions()), spared.Tokens);
    }

    [Fact]
    public void AStepThatThrowsHandsBackEverySequenceAndTheBatchGoesOn()
    {
        using var m = Load("llama");
        bool fail = false;
        // Throws in the decode pass (one new position per row) once armed; prefills pass.
        var failing = new HookIntervention(h => h.Add(HookNames.Embed, (_, x) => fail && x.Dim(0) == 1 ? throw new InvalidOperationException("injected") : null));
        using var batch = new DecodeBatch(m, new DecodeBatchOptions { MaxRows = 3, Capacity = 30, EosIds = Array.Empty<int>(), Intervention = failing });
        var running = new DecodeSequence(new[] { 0, 5, 6 }, 10, new SamplingOptions());
        var done = new DecodeSequence(new[] { 0, 4 }, 1, new SamplingOptions());        // finishes in its prefill
        var joining = new DecodeSequence(new[] { 0, 7, 8 }, 10, new SamplingOptions()); // prefilled in the failing step
        batch.Add(running);
        batch.Step();
        batch.Add(done); batch.Add(joining);
        fail = true;
        Assert.Throws<InvalidOperationException>(() => batch.Step());
        var abandoned = batch.Abandon();
        Assert.Equal(new[] { running, done, joining }.ToHashSet(), abandoned.ToHashSet());
        Assert.Equal(0, batch.Count);
        fail = false;
        var after = new DecodeSequence(new[] { 0, 9 }, 5, new SamplingOptions());
        batch.Add(after);
        while (batch.Count > 0) batch.Step();
        Assert.Equal(Alone(m, new[] { 0, 9 }, 5, new SamplingOptions()), after.Tokens);
    }

    /// <summary>Abstains on the sequence whose newest position in a pass is the given one (reads the pass layout only).</summary>
    private sealed class FlagAtPosition(int position) : InferenceIntervention
    {
        private bool[] hit = new bool[1];
        private PassLayout? layout;
        public override bool CanAbstain => true;
        public override void Begin(int sequences) { base.Begin(sequences); hit = new bool[sequences]; }
        public override void SetPass(PassLayout l) { base.SetPass(l); layout = l; }
        public override bool Flagged(int sequence) => hit[sequence];
        protected internal override void Register(HookSet hooks) => hooks.Add(HookNames.Embed, (_, x) =>
        {
            for (int r = 0; r < layout!.Rows; r++)
                if (layout.Position(r, layout.Length - 1) == position) hit[layout.Sequences[r]] = true;
            return null;
        });
    }
}
