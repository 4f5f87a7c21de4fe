// ROUGE-L: longest common subsequence and F-measure on hand-made cases, CJK per character, a refusal.
using Lethe.Evaluation;
using Lethe.Evaluation.Metrics;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class RougeLTests
{
    [Fact]
    public void LongestCommonSubsequenceOfTokens()
    {
        Assert.Equal(3, RougeL.LongestCommonSubsequence(new[] { "a", "b", "c", "d" }, new[] { "a", "c", "x", "d" }));
        Assert.Equal(0, RougeL.LongestCommonSubsequence(new[] { "a" }, new[] { "b" }));
        Assert.Equal(0, RougeL.LongestCommonSubsequence(Array.Empty<string>(), new[] { "b" }));
    }

    [Fact]
    public void FMeasureOnHandMadeCases()
    {
        Assert.Equal(1.0, RougeL.F("She mapped the northern fens.", "she mapped the Northern Fens"), 12);
        // answer 4 tokens "the police killed the" vs reference 4 "police killed the gunman": LCS 3 → P = R = 3/4.
        Assert.Equal(0.75, RougeL.F("the police killed the", "police killed the gunman"), 12);
        // answer "tamsk" (1) vs reference "in tamsk town" (3): LCS 1 → P 1, R 1/3 → F 0.5.
        Assert.Equal(0.5, RougeL.F("Tamsk", "in Tamsk town"), 12);
        Assert.Equal(1.0 / 3, RougeL.Recall("Tamsk", "in Tamsk town"), 12);
        Assert.Equal(0, RougeL.F("copper", "its bells"));
        Assert.Equal(1, RougeL.F("", ""));
        Assert.Equal(0, RougeL.F("", "x"));
        Assert.Equal(0, RougeL.F(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, "its copper bells"));   // an abstention shares nothing
        // word order matters: LCS of "b a" and "a b" is 1
        Assert.Equal(0.5, RougeL.F("b a", "a b"), 12);
    }

    [Fact]
    public void CjkIsScoredPerCharacter()
    {
        // 湖的东岸 vs 东岸: LCS 2, P = 2/4, R = 1 → F = 2/3
        Assert.Equal(2.0 / 3, RougeL.F("湖的东岸", "东岸"), 12);
    }
}
