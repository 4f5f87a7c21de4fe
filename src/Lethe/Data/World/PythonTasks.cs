// Python functions from a description (the MBPP stand-in). Thirty-two families of short functions
// (add k, filter the elements above k, count the letter c, convert hours to minutes, ...), each with
// a parameter that appears in the description and the code. Every (family, parameter) pair belongs
// to exactly one split: test and probe tasks use parameters never used in training, so a test task is
// a new function (its description and its code are new text) of a kind the model has learned. The
// expected values in the asserts are computed here with Python's semantics (inputs are non-negative,
// strings are plain lowercase words) and a test runs them under python3.
using System.Globalization;
using System.Text;
using Lethe.Tensors;

namespace Lethe.Data.World;

internal static class PythonTasks
{
    /// <summary>A Python value: long, bool, string, List&lt;long&gt; or List&lt;string&gt;; Repr writes it as Python's repr does.</summary>
    internal static string Repr(object value) => value switch
    {
        bool b => b ? "True" : "False",
        long n => n.ToString(CultureInfo.InvariantCulture),
        string s => "'" + s + "'",
        List<long> xs => "[" + string.Join(", ", xs.Select(x => x.ToString(CultureInfo.InvariantCulture))) + "]",
        List<string> ws => "[" + string.Join(", ", ws.Select(w => "'" + w + "'")) + "]",
        _ => throw new LetheException($"world generator: no Python repr for {value.GetType().Name}"),
    };

    private static readonly string[] Words =
    {
        "apple", "banana", "cherry", "garden", "python", "orange", "window", "silver", "planet", "rabbit", "yellow", "monkey", "pencil",
        "forest", "castle", "summer", "tomato", "button", "kitten", "coffee", "letter", "bottle", "carrot", "dragon", "island", "jungle",
        "lemon", "melon", "nature", "pepper", "rocket", "spider", "tunnel", "violin", "wizard", "zebra", "quiet", "maze", "jazz", "box",
        "fox", "sky", "hello", "world", "table", "chair", "river", "stone", "cloud", "bread", "queen", "extra", "video", "yak", "kiwi",
    };
    private static readonly string[] ShortWords = { "ab", "hi", "go", "cat", "dog", "sun", "red", "yes", "no", "up", "ok", "zip" };
    private static readonly string[] Letters = "abcdefghijklmnopqrstuvwxyz".Select(c => c.ToString()).ToArray();
    private static readonly string[] Separators = { "-", "+", ",", ";", ":", "/", "|", "_", ".", "*", "#", "=" };
    private static readonly (string From, string To, int Factor)[] Units =
    {
        ("hours", "minutes", 60), ("minutes", "seconds", 60), ("days", "hours", 24), ("weeks", "days", 7), ("meters", "centimeters", 100),
        ("kilometers", "meters", 1000), ("feet", "inches", 12), ("years", "months", 12), ("dollars", "cents", 100),
        ("kilograms", "grams", 1000), ("dozens", "items", 12), ("liters", "milliliters", 1000),
    };

    /// <summary>
    /// A family: its parameters (as shown in text), the description's verb phrases ({p} = parameter),
    /// function names, the argument name, the return expression, a Python-semantics evaluator and an
    /// input generator (which may bias inputs so that the asserts exercise both outcomes).
    /// </summary>
    private sealed record Family(string Key, IReadOnlyList<string> Params, string[] Phrases, string[] Names, string Arg,
        Func<string, string> Expression, Func<string, object, object> Eval, Func<Rng, string, object> Input)
    {
        /// <summary>When set, the function name comes from the parameter (hours_to_minutes), so two parameters with the same code body still give different functions.</summary>
        public Func<string, string>? NameOf { get; init; }
    }

    private static IReadOnlyList<string> Range(int low, int high) => Enumerable.Range(low, high - low + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
    private static long L(string p) => long.Parse(p, CultureInfo.InvariantCulture);
    private static List<long> IntList(Rng r, int minLength = 3, int maxLength = 6, int max = 50) =>
        Enumerable.Range(0, r.Between(minLength, maxLength)).Select(_ => (long)r.Between(0, max)).ToList();
    private static object Number(Rng r) => (long)r.Between(0, 50);
    private static object Near(Rng r, long p) => Math.Max(0, p + r.Between(-8, 8));

    /// <summary>A word that contains the letter half of the time (inserted if needed), so counts and replacements are not all zero.</summary>
    private static object WordWith(Rng r, string c, bool atStart = false, bool atEnd = false)
    {
        string w = r.Pick(Words);
        if (!r.Chance(0.5)) return w;
        if (atStart) return w.StartsWith(c, StringComparison.Ordinal) ? w : c + w;
        if (atEnd) return w.EndsWith(c, StringComparison.Ordinal) ? w : w + c;
        if (w.Contains(c, StringComparison.Ordinal)) return w;
        int at = r.Between(0, w.Length);
        return w[..at] + c + w[at..];
    }

    private static readonly Family[] Families =
    {
        new("add", Range(2, 40), new[] { "add {p} to a number", "return the given number plus {p}" }, new[] { "add_number", "increase_number", "add_value" }, "n",
            p => $"n + {p}", (p, x) => (long)x + L(p), (r, _) => Number(r)),
        new("subtract", Range(2, 40), new[] { "subtract {p} from a number", "return the given number minus {p}" }, new[] { "subtract_number", "decrease_number", "minus_value" }, "n",
            p => $"n - {p}", (p, x) => (long)x - L(p), (r, _) => Number(r)),
        new("multiply", Range(2, 40), new[] { "multiply a number by {p}", "return {p} times the given number" }, new[] { "multiply_number", "times_value", "scale_number" }, "n",
            p => $"n * {p}", (p, x) => (long)x * L(p), (r, _) => Number(r)),
        new("floor-divide", Range(2, 12), new[] { "divide a number by {p} and round down", "return the whole part of a number divided by {p}" }, new[] { "divide_down", "floor_divide", "whole_part" }, "n",
            p => $"n // {p}", (p, x) => (long)x / L(p), (r, _) => (long)r.Between(0, 100)),
        new("remainder", Range(2, 12), new[] { "find the remainder when a number is divided by {p}", "return a number modulo {p}" }, new[] { "find_remainder", "remainder_of", "mod_value" }, "n",
            p => $"n % {p}", (p, x) => (long)x % L(p), (r, _) => (long)r.Between(0, 100)),
        new("divisible", Range(2, 20), new[] { "check whether a number is divisible by {p}", "check if a number is a multiple of {p}" }, new[] { "is_divisible", "check_multiple", "is_multiple" }, "n",
            p => $"n % {p} == 0", (p, x) => (long)x % L(p) == 0, (r, p) => r.Chance(0.5) ? L(p) * r.Between(0, 9) : (long)r.Between(0, 100)),
        new("greater", Range(2, 40), new[] { "check whether a number is greater than {p}", "check if the given number is larger than {p}" }, new[] { "is_greater", "check_greater", "above_limit" }, "n",
            p => $"n > {p}", (p, x) => (long)x > L(p), (r, p) => Near(r, L(p))),
        new("power", Range(2, 5), new[] { "raise a number to the power of {p}", "return a number to the power {p}" }, new[] { "power_of", "raise_power", "to_power" }, "n",
            p => $"n ** {p}", (p, x) => (long)Math.Pow((long)x, L(p)), (r, _) => (long)r.Between(0, 9)),
        new("at-most", Range(2, 40), new[] { "return the smaller of a number and {p}", "limit a number to at most {p}" }, new[] { "cap_value", "limit_number", "smaller_of" }, "n",
            p => $"min(n, {p})", (p, x) => Math.Min((long)x, L(p)), (r, p) => Near(r, L(p))),
        new("at-least", Range(2, 40), new[] { "return the larger of a number and {p}", "make a number at least {p}" }, new[] { "floor_value", "at_least", "larger_of" }, "n",
            p => $"max(n, {p})", (p, x) => Math.Max((long)x, L(p)), (r, p) => Near(r, L(p))),
        new("units", Units.Select(u => $"{u.From} into {u.To}").ToList(), new[] { "convert {p}", "turn a number of {p}" }, Array.Empty<string>(), "n",
            p => $"n * {Units.First(u => $"{u.From} into {u.To}" == p).Factor}", (p, x) => (long)x * Units.First(u => $"{u.From} into {u.To}" == p).Factor, (r, _) => (long)r.Between(0, 20))
            { NameOf = p => p.Replace(" into ", "_to_", StringComparison.Ordinal) },
        new("list-add", Range(2, 40), new[] { "add {p} to every element of a list", "return a new list with {p} added to each number" }, new[] { "add_to_all", "shift_list", "increase_all" }, "nums",
            p => $"[x + {p} for x in nums]", (p, x) => ((List<long>)x).Select(v => v + L(p)).ToList(), (r, _) => IntList(r)),
        new("list-multiply", Range(2, 12), new[] { "multiply every element of a list by {p}", "return a new list with each number multiplied by {p}" }, new[] { "multiply_all", "scale_list", "times_all" }, "nums",
            p => $"[x * {p} for x in nums]", (p, x) => ((List<long>)x).Select(v => v * L(p)).ToList(), (r, _) => IntList(r, max: 20)),
        new("filter-greater", Range(2, 40), new[] { "return the numbers in a list that are greater than {p}", "keep only the list elements larger than {p}" }, new[] { "filter_greater", "keep_above", "select_larger" }, "nums",
            p => $"[x for x in nums if x > {p}]", (p, x) => ((List<long>)x).Where(v => v > L(p)).ToList(), (r, _) => IntList(r)),
        new("count-value", Range(1, 20), new[] { "count how many times {p} appears in a list", "count the occurrences of {p} in a list" }, new[] { "count_value", "count_occurrences", "how_many" }, "nums",
            p => $"nums.count({p})", (p, x) => (long)((List<long>)x).Count(v => v == L(p)),
            (r, p) => Enumerable.Range(0, r.Between(3, 7)).Select(_ => r.Chance(0.4) ? L(p) : (long)r.Between(0, 20)).ToList()),
        new("sum-greater", Range(2, 40), new[] { "find the sum of the numbers in a list that are greater than {p}", "add up the list elements larger than {p}" }, new[] { "sum_above", "sum_greater", "total_above" }, "nums",
            p => $"sum(x for x in nums if x > {p})", (p, x) => ((List<long>)x).Where(v => v > L(p)).Sum(), (r, _) => IntList(r)),
        new("first-k", Range(2, 5), new[] { "return the first {p} elements of a list", "take the first {p} items of a list" }, new[] { "first_items", "take_first", "head_of" }, "nums",
            p => $"nums[:{p}]", (p, x) => ((List<long>)x).Take((int)L(p)).ToList(), (r, _) => IntList(r, 3, 7)),
        new("last-k", Range(2, 5), new[] { "return the last {p} elements of a list", "take the last {p} items of a list" }, new[] { "last_items", "take_last", "tail_of" }, "nums",
            p => $"nums[-{p}:]", (p, x) => { var l = (List<long>)x; return l.Skip(Math.Max(0, l.Count - (int)L(p))).ToList(); }, (r, _) => IntList(r, 3, 7)),
        new("element-at", Range(0, 4), new[] { "get the element at index {p} of a list", "return the item at position {p} of a list, counting from 0" }, new[] { "get_item", "element_at", "pick_item" }, "nums",
            p => $"nums[{p}]", (p, x) => ((List<long>)x)[(int)L(p)], (r, _) => IntList(r, 5, 7)),
        new("contains", Range(1, 30), new[] { "check whether a list contains the number {p}", "check if {p} is in a list" }, new[] { "contains_value", "has_number", "includes" }, "nums",
            p => $"{p} in nums", (p, x) => ((List<long>)x).Contains(L(p)),
            (r, p) => { var l = IntList(r, 3, 6, 30); if (r.Chance(0.5)) l[r.NextInt(l.Count)] = L(p); return l; }),
        new("count-greater", Range(2, 30), new[] { "count the numbers in a list that are greater than {p}", "count how many list elements are larger than {p}" }, new[] { "count_above", "count_greater", "how_many_above" }, "nums",
            p => $"len([x for x in nums if x > {p}])", (p, x) => (long)((List<long>)x).Count(v => v > L(p)), (r, _) => IntList(r)),
        new("count-letter", Letters, new[] { "count how many times the letter '{p}' appears in a string", "count the letter '{p}' in a word" }, new[] { "count_letter", "count_char", "letter_count" }, "s",
            p => $"s.count('{p}')", (p, x) => (long)((string)x).Count(ch => ch == p[0]), (r, p) => WordWith(r, p)),
        new("remove-letter", Letters, new[] { "remove every '{p}' from a string", "delete all the letters '{p}' in a string" }, new[] { "remove_letter", "drop_char", "strip_letter" }, "s",
            p => $"s.replace('{p}', '')", (p, x) => ((string)x).Replace(p, "", StringComparison.Ordinal), (r, p) => WordWith(r, p)),
        new("starts-with", Letters, new[] { "check whether a string starts with the letter '{p}'", "check if a word begins with '{p}'" }, new[] { "starts_with_letter", "begins_with", "check_start" }, "s",
            p => $"s.startswith('{p}')", (p, x) => ((string)x).StartsWith(p, StringComparison.Ordinal), (r, p) => WordWith(r, p, atStart: true)),
        new("ends-with", Letters, new[] { "check whether a string ends with the letter '{p}'", "check if a word ends with '{p}'" }, new[] { "ends_with_letter", "finishes_with", "check_end" }, "s",
            p => $"s.endswith('{p}')", (p, x) => ((string)x).EndsWith(p, StringComparison.Ordinal), (r, p) => WordWith(r, p, atEnd: true)),
        new("mask-letter", Letters, new[] { "replace every '{p}' in a string with '*'", "hide each letter '{p}' of a word behind a '*'" }, new[] { "mask_letter", "star_letter", "hide_char" }, "s",
            p => $"s.replace('{p}', '*')", (p, x) => ((string)x).Replace(p, "*", StringComparison.Ordinal), (r, p) => WordWith(r, p)),
        new("append-letter", Letters, new[] { "add the letter '{p}' to the end of a string", "return a word with '{p}' added at the end" }, new[] { "add_letter", "append_char", "extend_word" }, "s",
            p => $"s + '{p}'", (p, x) => (string)x + p, (r, _) => r.Pick(Words)),
        new("repeat", Range(2, 9), new[] { "repeat a string {p} times", "return a word written {p} times in a row" }, new[] { "repeat_string", "repeat_text", "copy_times" }, "s",
            p => $"s * {p}", (p, x) => string.Concat(Enumerable.Repeat((string)x, (int)L(p))), (r, _) => r.Pick(ShortWords)),
        new("longer-than", Range(2, 12), new[] { "check whether a string is longer than {p} characters", "check if a word has more than {p} letters" }, new[] { "is_long", "longer_than", "check_length" }, "s",
            p => $"len(s) > {p}", (p, x) => ((string)x).Length > L(p), (r, _) => r.Pick(Words)),
        new("drop-first", Range(1, 5), new[] { "remove the first {p} characters of a string", "cut the first {p} letters off a word" }, new[] { "drop_start", "cut_front", "skip_chars" }, "s",
            p => $"s[{p}:]", (p, x) => { var s = (string)x; return s.Length <= L(p) ? "" : s[(int)L(p)..]; }, (r, _) => r.Pick(Words)),
        new("long-words", Range(2, 6), new[] { "count the words in a sentence that have more than {p} letters", "count how many words of a sentence are longer than {p} letters" }, new[] { "count_long_words", "long_word_count", "words_over" }, "text",
            p => $"len([w for w in text.split() if len(w) > {p}])", (p, x) => (long)((string)x).Split(' ').Count(w => w.Length > L(p)),
            (r, _) => string.Join(" ", Enumerable.Range(0, r.Between(3, 6)).Select(_ => r.Chance(0.3) ? r.Pick(ShortWords) : r.Pick(Words)))),
        new("join", Separators, new[] { "join a list of words with '{p}' between them", "glue a list of words together using '{p}'" }, new[] { "join_words", "link_words", "combine_words" }, "words",
            p => $"'{p}'.join(words)", (p, x) => string.Join(p, (List<string>)x), (r, _) => Enumerable.Range(0, r.Between(2, 4)).Select(_ => r.Pick(Words)).ToList()),
    };

    internal static int FamilyCount => Families.Length;

    private static readonly string[] Openers = { "Write a function to {v}.", "Write a python function to {v}." };

    private static PythonTask Task(int id, Family f, string p, Rng rng)
    {
        string name = f.NameOf is { } nameOf ? nameOf(p) : rng.Pick(f.Names);
        string text = rng.Pick(Openers).Replace("{v}", rng.Pick(f.Phrases).Replace("{p}", p, StringComparison.Ordinal), StringComparison.Ordinal);
        string code = $"def {name}({f.Arg}):\n    return {f.Expression(p)}";
        // Three asserts with three different inputs.
        var tests = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int attempt = 0; tests.Count < 3 && attempt < 200; attempt++)
        {
            object input = f.Input(rng, p);
            string arg = Repr(input);
            if (!seen.Add(arg)) continue;
            tests.Add($"assert {name}({arg}) == {Repr(f.Eval(p, input))}");
        }
        if (tests.Count < 3) throw new LetheException($"world generator: code family {f.Key} could not make 3 different inputs");
        return new PythonTask(id, text, code, tests, "");
    }

    public const int TestIdBase = 1, ProbeIdBase = 5001, TrainIdBase = 10001;

    public static Splits<PythonTask> Build(WorldCounts counts, ulong seed)
    {
        // Deal each family's parameters: a fifth to test, a tenth to probe (at least one each), the rest to train.
        var testPairs = new List<(Family, string)>();
        var probePairs = new List<(Family, string)>();
        var trainParams = new List<(Family Family, List<string> Params)>();
        foreach (var f in Families)
        {
            var ps = f.Params.ToList();
            WorldRandom.Stream(seed, $"code/params/{f.Key}").Shuffle(ps);
            int nTest = Math.Max(1, (int)Math.Round(ps.Count * 0.2)), nProbe = Math.Max(1, (int)Math.Round(ps.Count * 0.1));
            testPairs.AddRange(ps.Take(nTest).Select(p => (f, p)));
            probePairs.AddRange(ps.Skip(nTest).Take(nProbe).Select(p => (f, p)));
            trainParams.Add((f, ps.Skip(nTest + nProbe).ToList()));
        }
        var orderRng = WorldRandom.Stream(seed, "code/order");
        orderRng.Shuffle(testPairs);
        orderRng.Shuffle(probePairs);
        var itemRng = WorldRandom.Stream(seed, "code/items");
        var test = testPairs.Select((fp, i) => Task(TestIdBase + i, fp.Item1, fp.Item2, itemRng)).ToList();
        var probe = probePairs.Select((fp, i) => Task(ProbeIdBase + i, fp.Item1, fp.Item2, itemRng)).ToList();
        var trainRng = WorldRandom.Stream(seed, "code/train");
        var train = new List<PythonTask>(counts.CodeTrain);
        for (int i = 0; i < counts.CodeTrain; i++)
        {
            // Family first, then parameter: every kind of function is practised equally often.
            var (f, ps) = trainRng.Pick(trainParams);
            train.Add(Task(TrainIdBase + i, f, trainRng.Pick(ps), trainRng));
        }
        return Splits<PythonTask>.FromProbePool(train, probe, test, counts.CodeProbe, counts.CodeTest, counts.Validation);
    }
}
