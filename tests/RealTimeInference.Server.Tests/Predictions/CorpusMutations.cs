using System.Text;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>Deterministic garbage for the bad-input corpora: a few random edits of a valid body.</summary>
internal static class CorpusMutations
{
    public static string Mutate(Random random, string body, IReadOnlyList<string> tokens)
    {
        var builder = new StringBuilder(body);
        for (var edits = random.Next(1, 4); edits > 0 && builder.Length > 0; edits--)
        {
            var at = random.Next(builder.Length);
            switch (random.Next(5))
            {
                case 0: builder.Remove(at, Math.Min(builder.Length - at, random.Next(1, 8))); break;
                case 1: builder.Insert(at, tokens[random.Next(tokens.Count)]); break;
                case 2: builder[at] = (char)random.Next(32, 127); break;
                case 3: builder.Length = at; break;
                default: builder.Insert(at, new string('[', random.Next(1, 200))); break;
            }
        }

        return builder.ToString();
    }
}
