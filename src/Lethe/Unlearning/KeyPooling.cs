// Which key vector Key Space Detection tests at a position t of a sequence:
//   Last ([S1]): the layer's key mlp.coeff at t itself.
//   Mean (beyond [S1]): the running mean of the layer's key over the sequence's real tokens 0..t —
//     the prompt's tokens and, while generating, the tokens generated so far. Every prompt of a
//     task ends in the same format ("\nAnswer:"), so the key at the last token mostly says "an
//     answer follows"; the mean over the whole text carries what the text is about (its language).
// RunningKey is the one place the mean is computed — the fit's collectors (LastTokenKeys, AnswerScoring)
// and the inference hook (KeySpaceIntervention) all use it, so a probe gets exactly the vector the
// detector will compute for the same tokens: a double sum, added in position order, divided by the
// count and rounded to float once.
namespace Lethe.Unlearning;

public enum KeyPooling { Last, Mean }

public static class KeyPoolings
{
    public static string Name(KeyPooling p) => p == KeyPooling.Last ? "last" : "mean";

    public static KeyPooling Parse(string text, string where) => text switch
    {
        "last" => KeyPooling.Last,
        "mean" => KeyPooling.Mean,
        _ => throw new LetheException($"{where}: key pooling '{text}' is neither 'last' nor 'mean'"),
    };
}

/// <summary>The running mean of one sequence's key vectors on one layer.</summary>
public sealed class RunningKey
{
    private readonly double[] sum;
    private readonly float[] mean;

    public RunningKey(int width) { sum = new double[width]; mean = new float[width]; }

    public int Count { get; private set; }

    /// <summary>Adds the key of the next position.</summary>
    public void Add(ReadOnlySpan<float> key)
    {
        if (key.Length != sum.Length) throw new ShapeMismatchException("RunningKey.Add", $"key has {key.Length} dimensions, the running mean {sum.Length}");
        for (int d = 0; d < sum.Length; d++) sum[d] += key[d];
        Count++;
    }

    /// <summary>The mean of the keys added so far (a view, overwritten by the next call).</summary>
    public ReadOnlySpan<float> Mean()
    {
        if (Count == 0) throw new LetheException("RunningKey: no position added yet");
        for (int d = 0; d < sum.Length; d++) mean[d] = (float)(sum[d] / Count);
        return mean;
    }
}
