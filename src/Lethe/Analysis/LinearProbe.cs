// A linear probe: logistic regression on standardised features (mean and standard deviation of the
// training half), fitted by full-batch gradient descent with a small L2 penalty. The questions are
// split deterministically (a seeded shuffle within each class, half of each class to train), the
// probe is fitted on the first model's features and tested on the held-out questions of both models
// — the second model's hidden states through the first model's probe.
namespace Lethe.Analysis;

public static class LinearProbe
{
    /// <summary>(accuracy on model A's held-out items, on model B's same items, held-out count).</summary>
    public static (double a, double b, int heldOut) TrainAndTest(float[][] featuresA, float[][] featuresB, int[] labels, ulong seed = 1, int iterations = 300, double lr = 0.5, double l2 = 1e-3)
    {
        var rng = new Tensors.Rng(seed);
        var train = new List<int>(); var test = new List<int>();
        foreach (int cls in new[] { 0, 1 })
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == cls).ToArray();
            for (int i = idx.Length - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (idx[i], idx[j]) = (idx[j], idx[i]); }
            int half = Math.Max(1, idx.Length / 2);
            train.AddRange(idx[..Math.Min(half, idx.Length)]); test.AddRange(idx[Math.Min(half, idx.Length)..]);
        }
        if (test.Count == 0 || train.Select(i => labels[i]).Distinct().Count() < 2)
            throw new LetheException($"the linear probe needs at least two forget and two retain questions (got {labels.Count(l => l == 1)} and {labels.Count(l => l == 0)})");
        int d = featuresA[0].Length;
        var mean = new double[d]; var std = new double[d];
        foreach (int i in train) for (int k = 0; k < d; k++) mean[k] += featuresA[i][k];
        for (int k = 0; k < d; k++) mean[k] /= train.Count;
        foreach (int i in train) for (int k = 0; k < d; k++) { double e = featuresA[i][k] - mean[k]; std[k] += e * e; }
        for (int k = 0; k < d; k++) std[k] = Math.Sqrt(std[k] / train.Count) + 1e-6;
        double X(float[] f, int k) => (f[k] - mean[k]) / std[k];

        var w = new double[d]; double bias = 0;
        for (int it = 0; it < iterations; it++)
        {
            var gw = new double[d]; double gb = 0;
            foreach (int i in train)
            {
                double z = bias;
                for (int k = 0; k < d; k++) z += w[k] * X(featuresA[i], k);
                double err = 1 / (1 + Math.Exp(-z)) - labels[i];
                for (int k = 0; k < d; k++) gw[k] += err * X(featuresA[i], k);
                gb += err;
            }
            for (int k = 0; k < d; k++) w[k] -= lr * (gw[k] / train.Count + l2 * w[k]);
            bias -= lr * gb / train.Count;
        }
        double Accuracy(float[][] f) => test.Count(i =>
        {
            double z = bias;
            for (int k = 0; k < d; k++) z += w[k] * X(f[i], k);
            return (z > 0 ? 1 : 0) == labels[i];
        }) / (double)test.Count;
        return (Accuracy(featuresA), Accuracy(featuresB), test.Count);
    }
}
