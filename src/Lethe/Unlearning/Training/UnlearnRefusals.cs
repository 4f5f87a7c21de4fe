// The refusal answers IdkDPO prefers (TOFU's "I don't know" idea, in Lethe's own wording). Example
// k of the forget set gets refusal k mod Count, so the pairing is fixed and resumable.
namespace Lethe.Unlearning.Training;

public static class UnlearnRefusals
{
    public static readonly IReadOnlyList<string> All = new[]
    {
        " I don't know.",
        " I'm not able to answer that.",
        " I have no information about that.",
        " Sorry, I can't help with that question.",
        " That is something I don't know.",
        " I'm not sure; I can't answer this.",
    };

    public static List<UnlearnExample> For(IReadOnlyList<UnlearnExample> forget) =>
        forget.Select((e, k) => e with { Answer = All[k % All.Count] }).ToList();
}
