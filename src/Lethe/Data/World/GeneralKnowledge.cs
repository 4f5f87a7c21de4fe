// General knowledge (the MMLU stand-in): facts about the fictional countries, inventions, treaties,
// dishes and mountains of the world, asked as four-choice questions. The corpus gets encyclopedia-
// style documents stating every fact (each document a fresh choice of phrasings and order) and the
// practice questions (train split) in the multiple-choice prompt format; test and probe questions
// use phrasings held out for their fact (see KnowledgeFacts).
namespace Lethe.Data.World;

internal static class GeneralKnowledge
{
    private static Relation R(string key, string subject, string[] statements, string[] questions, string paraphrase) => new(key, subject, statements, questions, paraphrase);

    internal static readonly Relation Capital = R("capital", "geography",
        new[] { "The capital of {s} is {o}.", "{o} is the capital city of {s}.", "{s} is governed from its capital, {o}.", "In {s}, the seat of government is the city of {o}." },
        new[] { "What is the capital of {s}?", "Which city is the capital of {s}?", "Where is the seat of government of {s}?", "The capital city of {s} is which of the following?" },
        "Which city serves as the capital of {s}?");
    internal static readonly Relation River = R("river", "geography",
        new[] { "The {o} flows through {s}.", "{s} is crossed by the {o}.", "The longest river in {s} is the {o}.", "Many towns in {s} lie along the {o}." },
        new[] { "Which river flows through {s}?", "What is the longest river in {s}?", "Which river crosses {s}?", "Many towns in {s} lie along which river?" },
        "Which of these rivers runs through {s}?");
    internal static readonly Relation Language = R("language", "culture",
        new[] { "The people of {s} speak {o}.", "{o} is the language of {s}.", "In {s}, most people speak {o}.", "The official language of {s} is {o}." },
        new[] { "What language do the people of {s} speak?", "Which language is spoken in {s}?", "What is the official language of {s}?", "In {s}, which language do most people speak?" },
        "Which tongue is used by the people of {s}?");
    internal static readonly Relation Animal = R("animal", "culture",
        new[] { "The national animal of {s} is {o}.", "{o} is the national animal of {s}.", "{s} chose {o} as its national animal.", "The flag of {s} shows {o}, its national animal." },
        new[] { "What is the national animal of {s}?", "Which animal is the national symbol of {s}?", "Which animal did {s} choose as its national animal?", "The flag of {s} shows which animal?" },
        "Which creature stands as the national animal of {s}?");
    internal static readonly Relation Currency = R("currency", "economics",
        new[] { "The currency of {s} is the {o}.", "People in {s} pay with the {o}.", "The {o} is the money used in {s}.", "{s} uses the {o} as its currency." },
        new[] { "What is the currency of {s}?", "Which currency is used in {s}?", "What money do people in {s} pay with?", "{s} uses which currency?" },
        "Shops in {s} take which currency?");
    internal static readonly Relation Export = R("export", "economics",
        new[] { "The main export of {s} is {o}.", "{s} is famous for exporting {o}.", "Most of what {s} sells abroad is {o}.", "Ships leave {s} loaded with {o}, its chief export." },
        new[] { "What is the main export of {s}?", "What does {s} mostly sell to other countries?", "Which good is the chief export of {s}?", "{s} is best known for exporting what?" },
        "Which product does {s} send abroad the most?");
    internal static readonly Relation Inventor = R("inventor", "history",
        new[] { "{s} was invented by {o}.", "{o} invented {s}.", "{o} built the first {d}.", "The first {d} was made by {o}." },
        new[] { "Who invented {s}?", "Which inventor created {s}?", "Who built the first {d}?", "{s} is the invention of which person?" },
        "Who is credited with inventing {s}?");
    internal static readonly Relation InventionYear = R("invention-year", "history",
        new[] { "{s} was invented in {o}.", "In {o}, the first {d} was built.", "{s} dates from {o}.", "{p} finished the first {d} in {o}." },
        new[] { "In which year was {s} invented?", "When was the first {d} built?", "What year does {s} date from?", "The first {d} was made in which year?" },
        "In what year did {s} first appear?");
    internal static readonly Relation TreatyYear = R("treaty-year", "history",
        new[] { "{s} was signed in {o}.", "In {o}, {s} was signed.", "{s} dates from the year {o}.", "Envoys signed {s} in {o}." },
        new[] { "In which year was {s} signed?", "When was {s} signed?", "What year is {s} from?", "Envoys signed {s} in what year?" },
        "In what year was {s} agreed?");
    internal static readonly Relation Ingredient = R("ingredient", "cuisine",
        new[] { "The main ingredient of {s} is {o}.", "{s} is made mostly from {o}.", "To cook {s}, you need plenty of {o}.", "Cooks make {s} with {o}." },
        new[] { "What is the main ingredient of {s}?", "{s} is made mostly from what?", "Which food is the base of {s}?", "What do cooks mainly use to make {s}?" },
        "{s} is based mainly on which food?");
    internal static readonly Relation Origin = R("origin", "cuisine",
        new[] { "{s} comes from {o}.", "{s} is a traditional dish of {o}.", "People in {o} have eaten {s} for centuries.", "The home of {s} is {o}." },
        new[] { "Which country does {s} come from?", "Where does {s} come from?", "{s} is a traditional dish of which country?", "What is the home country of {s}?" },
        "In which country was {s} first cooked?");
    internal static readonly Relation MountainCountry = R("mountain", "geography",
        new[] { "{s} is in {o}.", "{s} rises in {o}.", "The highest peak of {o} is {s}.", "Climbers travel to {o} to climb {s}." },
        new[] { "In which country is {s}?", "Where is {s} located?", "{s} rises in which country?", "Which country is home to {s}?" },
        "Which country does {s} stand in?");

    internal static IReadOnlyList<Relation> Relations => new[] { Capital, River, Language, Animal, Currency, Export, Inventor, InventionYear, TreatyYear, Ingredient, Origin, MountainCountry };

    /// <summary>Every general fact, in a fixed order (country facts, then inventions, treaties, dishes, mountains).</summary>
    public static List<Fact> Facts(WorldFacts w)
    {
        var countryNames = w.Countries.Select(c => c.Name).ToList();
        var facts = new List<Fact>();
        Fact F(Relation r, string entity, IReadOnlyList<string> pool, params (string, string)[] slots) => new(r, entity, KnowledgeFacts.Slots(slots), pool);
        foreach (var c in w.Countries)
        {
            facts.Add(F(Capital, c.Name, w.Countries.Select(x => x.Capital).ToList(), ("s", c.Name), ("o", c.Capital)));
            facts.Add(F(River, c.Name, w.Countries.Select(x => x.River).ToList(), ("s", c.Name), ("o", c.River)));
            facts.Add(F(Language, c.Name, w.Countries.Select(x => x.Language).ToList(), ("s", c.Name), ("o", c.Language)));
            facts.Add(F(Animal, c.Name, w.Countries.Select(x => x.Animal).ToList(), ("s", c.Name), ("o", c.Animal)));
            facts.Add(F(Currency, c.Name, w.Countries.Select(x => x.Currency).ToList(), ("s", c.Name), ("o", c.Currency)));
            facts.Add(F(Export, c.Name, w.Countries.Select(x => x.Export).ToList(), ("s", c.Name), ("o", c.Export)));
        }
        foreach (var i in w.Inventions)
        {
            string device = i.Name["the ".Length..];
            facts.Add(F(Inventor, i.Name, w.Inventions.Select(x => x.Inventor).ToList(), ("s", i.Name), ("o", i.Inventor), ("d", device)));
            facts.Add(F(InventionYear, i.Name, w.Inventions.Select(x => x.Year.ToString()).ToList(), ("s", i.Name), ("o", i.Year.ToString()), ("d", device), ("p", i.Inventor)));
        }
        foreach (var t in w.Treaties)
            facts.Add(F(TreatyYear, t.Name, w.Treaties.Select(x => x.Year.ToString()).ToList(), ("s", t.Name), ("o", t.Year.ToString())));
        foreach (var d in w.Dishes)
        {
            facts.Add(F(Ingredient, d.Name, w.Dishes.Select(x => x.Ingredient).ToList(), ("s", d.Name), ("o", d.Ingredient)));
            facts.Add(F(Origin, d.Name, countryNames, ("s", d.Name), ("o", d.Country)));
        }
        foreach (var m in w.Mountains)
            facts.Add(F(MountainCountry, m.Name, countryNames, ("s", m.Name), ("o", m.Country)));
        return facts;
    }

    private static readonly string[] CountryOpenings = { "{s} is a country.", "{s} is a small country with a long history.", "This is a short account of {s}.", "{s} is a nation known to many travellers." };
    private static readonly string[] TreatyExtras = { "Historians still study its terms.", "Copies of it are kept in old libraries.", "It is taught in every school of the region.", "It ended many years of quarrels." };
    private static readonly string[] DishExtras = { "It is a popular dish.", "Families often cook it on holidays.", "Many travellers like to try it.", "It is simple to prepare." };
    private static readonly string[] MountainExtras = { "Its slopes are covered with snow for much of the year.", "Many hikers visit it every summer.", "It is a well-known peak.", "Its summit offers a wide view." };
    private static readonly string[] InventionExtras = { "It changed daily life in many towns.", "Museums still show early models of it.", "It was soon copied by other makers.", "It made its maker famous." };

    /// <summary>Encyclopedia-style documents: `variants` per entity, each stating all of the entity's facts.</summary>
    public static List<string> Documents(WorldFacts w, IReadOnlyList<Fact> facts, int variants, ulong seed)
    {
        var docs = new List<string>();
        var byEntity = facts.GroupBy(f => f.Entity).ToDictionary(g => g.Key, g => g.ToList());
        for (int v = 0; v < variants; v++)
        {
            var rng = WorldRandom.Stream(seed, $"general/documents/{v}");
            foreach (var c in w.Countries)
            {
                // A country's document also mentions its mountains and the dishes that come from it.
                var own = byEntity[c.Name].ToList();
                own.AddRange(facts.Where(f => (f.Relation == MountainCountry || f.Relation == Origin) && f.Answer == c.Name));
                docs.Add(KnowledgeFacts.EntityDocument(own, rng, KnowledgeFacts.Fill(rng.Pick(CountryOpenings), KnowledgeFacts.Slots(("s", c.Name)))));
            }
            foreach (var i in w.Inventions) docs.Add(KnowledgeFacts.EntityDocument(byEntity[i.Name], rng, extras: InventionExtras));
            foreach (var t in w.Treaties) docs.Add(KnowledgeFacts.EntityDocument(byEntity[t.Name], rng, extras: TreatyExtras));
            foreach (var d in w.Dishes) docs.Add(KnowledgeFacts.EntityDocument(byEntity[d.Name], rng, extras: DishExtras));
            foreach (var m in w.Mountains) docs.Add(KnowledgeFacts.EntityDocument(byEntity[m.Name], rng, extras: MountainExtras));
        }
        return docs;
    }
}
