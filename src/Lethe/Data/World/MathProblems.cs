// Math word problems (the GSM8K stand-in): 1–3 steps with small numbers (operands up to 40, one-digit
// factors, exact divisions, results under 100), answered by a short worked
// solution, one sentence per step with the arithmetic written out ("3 + 4 = 7"), and a last line
// "#### N" (GSM8K's answer format). Twenty templates of everyday situations, filled with names,
// objects and numbers. Test and probe items are drawn first (always at full size, then cut) and
// training items are drawn from another stream skipping any question text that is a test or probe
// question, so every test item is a new instance.
using System.Text;
using Lethe.Tensors;

namespace Lethe.Data.World;

internal static class MathProblems
{
    private static readonly string[] Girls = { "Anna", "Maria", "Lucy", "Emma", "Sara", "Nina", "Olivia", "Grace", "Rose", "Julia", "Mia", "Clara", "Ella", "Lily", "Kate", "Amy" };
    private static readonly string[] Boys = { "Tom", "Ben", "Sam", "Jack", "Leo", "Max", "Paul", "David", "Peter", "Omar", "Ravi", "Noah", "Luke", "Adam", "Mark", "Owen" };
    private static readonly string[] Things = { "apples", "pencils", "stickers", "marbles", "cookies", "books", "cards", "balloons", "shells", "stamps", "candies", "toy cars", "flowers", "eggs", "oranges", "buttons" };
    private static readonly string[] Snacks = { "cookies", "candies", "apples", "oranges", "grapes", "cherries", "crackers", "plums" };
    private static readonly (string One, string Many)[] Containers = { ("box", "boxes"), ("bag", "bags"), ("pack", "packs"), ("basket", "baskets"), ("jar", "jars") };
    private static readonly (string One, string Many)[] Goods = { ("cake", "cakes"), ("pie", "pies"), ("hat", "hats"), ("book", "books"), ("lamp", "lamps"), ("cup", "cups"), ("kite", "kites"), ("scarf", "scarves") };
    private static readonly string[] Treats = { "a drink", "a sandwich", "a comic", "a ticket", "a notebook", "a ball" };
    private static readonly string[] Fruits = { "apples", "pears", "plums", "peaches", "lemons", "tomatoes" };
    private static readonly (string Animals, string Where)[] Groups = { ("birds", "on a tree"), ("ducks", "on the pond"), ("sheep", "in the field"), ("cows", "in the barn"), ("frogs", "by the lake"), ("goats", "on the hill") };

    private sealed class Person
    {
        public required string Name { get; init; }
        public required bool Female { get; init; }
        public string He => Female ? "She" : "He";
        public string Him => Female ? "her" : "him";
    }

    private static Person Someone(Rng rng, string? not = null)
    {
        while (true)
        {
            bool female = rng.Chance(0.5);
            string name = rng.Pick(female ? Girls : Boys);
            if (name != not) return new Person { Name = name, Female = female };
        }
    }

    private static MathProblem P(string question, int answer, params string[] steps)
    {
        var sb = new StringBuilder();
        foreach (var s in steps) sb.Append(s).Append('\n');
        sb.Append("#### ").Append(answer);
        return new MathProblem(question, sb.ToString());
    }

    private static int RoundUpTen(int x) => (x / 10 + 1) * 10;

    private static readonly Func<Rng, MathProblem>[] Templates =
    {
        // 1 step
        r => { var n = Someone(r); string t = r.Pick(Things); int a = r.Between(2, 30), b = r.Between(2, 20), c = a + b;
            return P($"{n.Name} has {a} {t}. {n.He} buys {b} more {t}. How many {t} does {n.Name} have now?", c, $"{n.Name} has {a} + {b} = {c} {t} now."); },
        r => { var n = Someone(r); var m = Someone(r, n.Name); string t = r.Pick(Things); int a = r.Between(10, 40), b = r.Between(2, a - 1), c = a - b;
            return P($"{n.Name} has {a} {t} and gives {b} of them to {m.Name}. How many {t} does {n.Name} have left?", c, $"{n.Name} has {a} - {b} = {c} {t} left."); },
        r => { var n = Someone(r); string t = r.Pick(Things); var k = r.Pick(Containers); int a = r.Between(2, 9), b = r.Between(2, 9), c = a * b;
            return P($"{n.Name} has {a} {k.Many}. Each {k.One} holds {b} {t}. How many {t} does {n.Name} have in total?", c, $"{n.Name} has {a} * {b} = {c} {t} in total."); },
        r => { var n = Someone(r); string t = r.Pick(Things); var k = r.Pick(Containers); int a = r.Between(2, 9), b = r.Between(2, 9), c = a * b;
            return P($"{n.Name} has {c} {t} and puts them equally into {a} {k.Many}. How many {t} are in each {k.One}?", b, $"Each {k.One} has {c} / {a} = {b} {t}."); },
        r => { var n = Someone(r); var m = Someone(r, n.Name); int a = r.Between(4, 30), b = r.Between(2, 20), c = a + b;
            return P($"{n.Name} is {a} years old. {m.Name} is {b} years older than {n.Name}. How old is {m.Name}?", c, $"{m.Name} is {a} + {b} = {c} years old."); },
        r => { int a = r.Between(5, 15), b = r.Between(2, 6), c = a * b;
            return P($"A train travels {a} kilometers every hour. How many kilometers does it travel in {b} hours?", c, $"The train travels {a} * {b} = {c} kilometers."); },
        r => { var g = r.Pick(Groups); int a = r.Between(5, 30), b = r.Between(1, a - 1), c = a - b;
            return P($"There are {a} {g.Animals} {g.Where}. {b} of them go away. How many {g.Animals} are left {g.Where}?", c, $"There are {a} - {b} = {c} {g.Animals} left."); },
        r => { string f = r.Pick(Fruits); int a = r.Between(5, 25), b = r.Between(5, 25), c = a + b;
            return P($"A farmer picks {a} {f} in the morning and {b} {f} in the afternoon. How many {f} does the farmer pick in total?", c, $"The farmer picks {a} + {b} = {c} {f}."); },
        r => { var n = Someone(r); var m = Someone(r, n.Name); string t = r.Pick(Things); int c = r.Between(2, 20), a = 2 * c;
            return P($"{n.Name} has {a} {t} and gives half of them to {m.Name}. How many {t} does {n.Name} have left?", c, $"Half of {a} is {a} / 2 = {c}.", $"{n.Name} has {c} {t} left."); },
        // 2 steps
        r => { var n = Someone(r); string t = r.Pick(Things); int a = r.Between(5, 30), b = r.Between(2, 15), c = a + b, d = r.Between(1, c - 1), e = c - d;
            return P($"{n.Name} had {a} {t}. {n.He} found {b} more and then lost {d}. How many {t} does {n.Name} have now?", e,
                $"After finding more, {n.Name} has {a} + {b} = {c} {t}.", $"After losing some, {n.Name} has {c} - {d} = {e} {t}."); },
        r => { var n = Someone(r); string t = r.Pick(Things); var k = r.Pick(Containers); int a = r.Between(2, 6), b = r.Between(2, 9), c = a * b, d = r.Between(1, 15), e = c + d;
            return P($"{n.Name} buys {a} {k.Many} of {t} with {b} {t} in each {k.One}. {n.He} already had {d} {t}. How many {t} does {n.Name} have now?", e,
                $"{n.Name} buys {a} * {b} = {c} {t}.", $"Now {n.Name} has {c} + {d} = {e} {t}."); },
        r => { var n = Someone(r); var g = r.Pick(Goods); int a = r.Between(2, 6), b = r.Between(2, 9), c = a * b, d = RoundUpTen(c) + 10 * r.Between(0, 2), e = d - c;
            return P($"{n.Name} buys {a} {g.Many} that cost {b} dollars each. {n.He} pays with {d} dollars. How much change does {n.Name} get?", e,
                $"The {g.Many} cost {a} * {b} = {c} dollars.", $"The change is {d} - {c} = {e} dollars."); },
        r => { var n = Someone(r); var m = Someone(r, n.Name); string t = r.Pick(Things); int a = r.Between(3, 25), b = r.Between(2, 15), c = a + b, e = a + c;
            return P($"{n.Name} has {a} {t}. {m.Name} has {b} more {t} than {n.Name}. How many {t} do they have together?", e,
                $"{m.Name} has {a} + {b} = {c} {t}.", $"Together they have {a} + {c} = {e} {t}."); },
        r => { int a = r.Between(3, 9), b = r.Between(3, 9), c = a * b, d = r.Between(1, Math.Min(20, c - 1)), e = c - d;
            return P($"A hall has {a} rows with {b} chairs in each row. {d} chairs are empty. How many chairs are taken?", e,
                $"There are {a} * {b} = {c} chairs.", $"The taken chairs are {c} - {d} = {e}."); },
        r => { var n = Someone(r); int a = r.Between(3, 9), b = r.Between(2, 7), c = a * b, d = r.Between(1, c - 1), e = c - d;
            return P($"{n.Name} earns {a} dollars each day for {b} days. Then {n.He.ToLowerInvariant()} spends {d} dollars. How many dollars does {n.Name} have left?", e,
                $"{n.Name} earns {a} * {b} = {c} dollars.", $"{n.Name} has {c} - {d} = {e} dollars left."); },
        r => { var n = Someone(r); string t = r.Pick(Things); int b = r.Between(1, 5), d = r.Between(2, 6), c = b * d, a = c + r.Between(1, 15), e = a - c;
            return P($"{n.Name} has {a} {t} and gives {b} to each of {d} friends. How many {t} does {n.Name} have left?", e,
                $"{n.Name} gives away {b} * {d} = {c} {t}.", $"{n.Name} has {a} - {c} = {e} {t} left."); },
        r => { var g = r.Pick(Goods); int a = r.Between(2, 8), b = r.Between(2, 8), c = a + b, d = r.Between(2, 5), e = c * d;
            return P($"A shop sells {a} {g.Many} in the morning and {b} in the afternoon. Each {g.One} costs {d} dollars. How many dollars does the shop earn?", e,
                $"The shop sells {a} + {b} = {c} {g.Many}.", $"It earns {c} * {d} = {e} dollars."); },
        // 3 steps
        r => { var n = Someone(r); int a = r.Between(5, 20), b = r.Between(5, 20), c = 2 * a, d = a + b, e = d + c;
            return P($"{n.Name} reads {a} pages on Monday and {b} pages on Tuesday. On Wednesday {n.He.ToLowerInvariant()} reads twice as many pages as on Monday. How many pages does {n.Name} read in the three days?", e,
                $"On Wednesday {n.Name} reads 2 * {a} = {c} pages.", $"On Monday and Tuesday {n.Name} reads {a} + {b} = {d} pages.", $"In total {n.Name} reads {d} + {c} = {e} pages."); },
        r => { var n = Someone(r); var m = Someone(r, n.Name); string t = r.Pick(Snacks); int a = r.Between(2, 5), b = r.Between(3, 9), c = a * b, d = r.Between(1, Math.Min(10, c - 1)), e = c - d, f = r.Between(1, 10), g = e + f;
            return P($"{n.Name} buys {a} bags of {t} with {b} {t} in each bag. {n.He} eats {d} of them and then gets {f} more from {m.Name}. How many {t} does {n.Name} have now?", g,
                $"{n.Name} buys {a} * {b} = {c} {t}.", $"After eating some, {n.Name} has {c} - {d} = {e} {t}.", $"Then {n.Name} has {e} + {f} = {g} {t}."); },
        r => { var n = Someone(r); var g = r.Pick(Goods); string treat = r.Pick(Treats); int b = r.Between(2, 5), d = r.Between(2, 9), c = b * d, f = r.Between(2, 15), e = c + f, a = e + r.Between(1, 20), h = a - e;
            return P($"{n.Name} has {a} dollars. {n.He} buys {b} {g.Many} for {d} dollars each and {treat} for {f} dollars. How many dollars does {n.Name} have left?", h,
                $"The {g.Many} cost {b} * {d} = {c} dollars.", $"In total {n.Name} spends {c} + {f} = {e} dollars.", $"{n.Name} has {a} - {e} = {h} dollars left."); },
    };

    internal static int TemplateCount => Templates.Length;

    private static MathProblem Draw(Rng rng) => rng.Pick(Templates)(rng);

    public static Splits<MathProblem> Build(WorldCounts counts, ulong seed)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        List<MathProblem> Unique(string stream, int count)
        {
            var rng = WorldRandom.Stream(seed, stream);
            var items = new List<MathProblem>();
            while (items.Count < count)
            {
                var p = Draw(rng);
                if (taken.Add(p.Question)) items.Add(p);
            }
            return items;
        }
        var test = Unique("math/test", WorldCounts.Full.MathTest);
        var probe = Unique("math/probe", WorldCounts.Full.MathProbe);
        // Training items may repeat each other (as in any large corpus) but never a test or probe question.
        var trainRng = WorldRandom.Stream(seed, "math/train");
        var train = new List<MathProblem>(counts.MathTrain);
        while (train.Count < counts.MathTrain)
        {
            var p = Draw(trainRng);
            if (!taken.Contains(p.Question)) train.Add(p);
        }
        return Splits<MathProblem>.FromProbePool(train, probe, test, counts.MathProbe, counts.MathTest, counts.Validation);
    }
}
