using System.Globalization;
using System.Net.Http.Headers;
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

    /// <summary>
    /// Posts a mutated V2 infer body: as JSON, or one time in four in the binary form, the mutated JSON
    /// and a few more bytes behind a header length that may lie. Answers the status and the body.
    /// </summary>
    public static async Task<(int Status, string Body)> PostMutatedV2Async(HttpClient client, Random random, string path, string body)
    {
        HttpContent content;
        if (random.Next(4) == 0)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            content = new ByteArrayContent([.. bytes, .. new byte[random.Next(0, 64)]]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var length = random.Next(3) == 0 ? random.Next(-5, bytes.Length + 50) : bytes.Length;
            content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", length.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using (content)
        using (var response = await client.PostAsync(path, content))
        {
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
    }
}
