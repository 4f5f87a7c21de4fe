// An original / unlearned pair must be the same network with other weights: same architecture and
// shapes, same tokenizer (the answers are token ids of the original's tokenizer, teacher-forced into
// both). Anything else is refused before a model is loaded, with both folders named.
// PairOptions: the settings every analysis of a pair shares (dissect's and verify's options extend it).
using System.Security.Cryptography;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tokenizers;

namespace Lethe.Analysis;

/// <summary>Settings shared by the analyses of an original / unlearned pair (DissectionOptions, VerifyOptions).</summary>
public abstract record PairOptions
{
    /// <summary>Tokens of the original's greedy answer to each question that are scored.</summary>
    public int AnswerTokens { get; init; } = AnswerSet.DefaultAnswerTokens;
    /// <summary>Sliding layer windows [ℓ − r, ℓ + r] of patching and restoration.</summary>
    public int Radius { get; init; } = 2;
    /// <summary>Bootstrap intervals (and, for verify, the probe split and the relearning attack).</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Both models converted to this dtype on load; null keeps their own.</summary>
    public DType? DType { get; init; }
}

public static class ModelPair
{
    /// <summary>Throws a LetheException naming both folders when the two models cannot be compared.</summary>
    public static void RequireComparable(string original, string unlearned)
    {
        var a = ModelConfig.Load(original); var b = ModelConfig.Load(unlearned);
        var diffs = new List<string>();
        void Check<T>(string what, T x, T y) { if (!EqualityComparer<T>.Default.Equals(x, y)) diffs.Add($"{what} {x} vs {y}"); }
        Check("model_type", a.ModelType, b.ModelType);
        Check("layers", a.NumLayers, b.NumLayers);
        Check("hidden size", a.HiddenSize, b.HiddenSize);
        Check("MLP width", a.IntermediateSize, b.IntermediateSize);
        Check("heads", a.NumHeads, b.NumHeads);
        Check("key/value heads", a.NumKvHeads, b.NumKvHeads);
        Check("head dim", a.HeadDim, b.HeadDim);
        Check("vocabulary", a.VocabSize, b.VocabSize);
        Check("norm", a.Norm, b.Norm);
        Check("activation", a.Act, b.Act);
        Check("gated MLP", a.GatedMlp, b.GatedMlp);
        Check("tied embeddings", a.TieEmbeddings, b.TieEmbeddings);
        if (diffs.Count > 0)
            throw new LetheException($"{original} and {unlearned} are different architectures ({string.Join("; ", diffs)}); "
                + "dissection compares two versions of one model: give the unlearned model made from this original");
        if (!SameTokenizer(original, unlearned, out string why))
            throw new LetheException($"{original} and {unlearned} have different tokenizers ({why}); the original's answers are token ids and must mean "
                + "the same text in both models: give the unlearned model with the original's tokenizer.json");
    }

    private static bool SameTokenizer(string a, string b, out string why)
    {
        string fa = Path.Combine(a, "tokenizer.json"), fb = Path.Combine(b, "tokenizer.json");
        why = "";
        if (!File.Exists(fa) || !File.Exists(fb)) { why = $"{(File.Exists(fa) ? fb : fa)} is missing"; return false; }
        if (SHA256.HashData(File.ReadAllBytes(fa)).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(fb)))) return true;
        // Different bytes can still be the same vocabulary (re-serialised); compare token by token.
        var ta = Tokenizer.Load(a); var tb = Tokenizer.Load(b);
        if (ta.VocabSize != tb.VocabSize) { why = $"{ta.VocabSize} vs {tb.VocabSize} tokens"; return false; }
        for (int id = 0; id < ta.VocabSize; id++)
            if (ta.IdToToken(id) != tb.IdToToken(id)) { why = $"token {id} is '{ta.IdToToken(id)}' vs '{tb.IdToToken(id)}'"; return false; }
        return true;
    }
}
