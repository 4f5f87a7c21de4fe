// Token-level generation for a batch of prompts of different lengths, run on DecodeBatch (all prompts
// join before the first step): prompts are left-padded to a common length (KeyStart masks the
// padding and positions count from each prompt's first token), one prefill pass fills the KV cache,
// then each step feeds one token per sequence and computes the LM head only at that position.
// A sequence stops at an end-of-sequence id, when its stop check says so, at MaxNewTokens, or when an intervention flags it (abstention). A finished sequence is
// dropped from the batch (its rows leave the KV cache), so it takes no part in later passes: its
// verdict is latched when it finishes, and what one sequence generates or whether it abstains does
// not depend on the other sequences of its batch. DecodeBatch is the only generation loop;
// evaluation, `lethe generate`, the unlearning experiments (through this class) and `lethe serve`
// all run through it. Runs without gradients in an arena reset every step.
namespace Lethe.Models.Generation;

public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Ids that end a sequence (default: the model's eos_token_id).</summary>
    public int[]? EosIds { get; init; }
    public int PadId { get; init; } = 0;
    /// <summary>Hooks run in every forward pass (prefill and each step); rows are the unfinished sequences in order, left-padded, so row r's newest position is r·T + T − 1.</summary>
    public HookSet? Hooks { get; init; }
    /// <summary>An intervention (edits, abstention) told each pass's layout; a sequence it flags stops and is reported abstained.</summary>
    public InferenceIntervention? Intervention { get; init; }
}

/// <summary>One generated sequence: its new tokens (no end id; none from the pass that abstained) and whether it abstained.</summary>
public sealed record GeneratedSequence(List<int> Tokens, bool Abstained);

public sealed class Generator
{
    private readonly TransformerModel model;

    public Generator(TransformerModel model) => this.model = model;

    /// <summary>The new tokens of each sequence (GenerateSequences without the abstention verdicts).</summary>
    public List<int>[] Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, Func<int, int, IReadOnlyList<int>, bool>? onToken = null, CancellationToken cancel = default) =>
        GenerateSequences(prompts, options, onToken, cancel).Select(g => g.Tokens).ToArray();

    /// <summary>
    /// Generates continuations. onToken(sequence, token, generatedSoFar) is called for every new
    /// token that neither ends the sequence nor comes from a pass that abstained, and returns true
    /// to stop that sequence (stop strings, streaming consumers).
    /// </summary>
    public GeneratedSequence[] GenerateSequences(IReadOnlyList<int[]> prompts, GenerationOptions options, Func<int, int, IReadOnlyList<int>, bool>? onToken = null, CancellationToken cancel = default)
    {
        if (prompts.Count == 0) return Array.Empty<GeneratedSequence>();
        if (prompts.Any(p => p.Length == 0)) throw new LetheException("a prompt has no tokens; give at least one (for example the BOS token)");
        if (options.MaxNewTokens < 0) throw LetheException.About($"max_new_tokens must be ≥ 0, got {options.MaxNewTokens}", "max_new_tokens");
        int B = prompts.Count, P = prompts.Max(p => p.Length);
        int capacity = P + options.MaxNewTokens;
        if (capacity > model.Config.MaxPositions && (model.Config.RotaryDim > 0 || model.Config.LearnedPositions))
            throw LetheException.About($"prompt ({P} tokens) + max_new_tokens ({options.MaxNewTokens}) exceed the model's {model.Config.MaxPositions} positions", "max_new_tokens");
        using var batch = new DecodeBatch(model, new DecodeBatchOptions
        {
            MaxRows = B, Capacity = Math.Max(1, capacity), EosIds = options.EosIds, PadId = options.PadId,
            Hooks = options.Hooks, Intervention = options.Intervention,
        });
        // Sequence b samples with seed + b, so a batch draws what its prompts would draw one by one in that order.
        var sequences = prompts.Select((p, b) => new DecodeSequence(p, options.MaxNewTokens, options.Sampling with { Seed = options.Sampling.Seed + (ulong)b },
            onToken is null ? null : (token, so) => onToken(b, token, so))).ToArray();
        foreach (var s in sequences) batch.Add(s);
        while (batch.Count > 0)
        {
            cancel.ThrowIfCancellationRequested();
            batch.Step();
        }
        return sequences.Select(s => new GeneratedSequence(s.Tokens, s.Abstained)).ToArray();
    }
}
