using System.Net;
using System.Text;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class BadInputCorpusTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Valid = """{"timestamp":"2026-01-01T00:00:00Z","temperature":350.5,"pressure":1013.2,"flow_rate":100.1,"tool_id":"t1"}""";

    private static readonly string[] Tokens =
        ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "NaN", "-Infinity", "1e400", "-0", "\\u0000", "\"temperature\"", "99999999999999999999", "\uFFFF", " "];

    private static readonly string[] Paths = ["/predict", "/predict-batch", "/baseline/predict", "/baseline/predict-batch"];

    private static readonly string[] ContentTypes =
        ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml", "application/x-www-form-urlencoded", "application/problem+json"];

    private readonly HttpClient _client = server.CreateClient();

    /// <summary>Deterministic garbage: mutations of a valid reading, arrays of them, and odd shapes.</summary>
    private static string Mutate(Random random)
    {
        var body = random.Next(3) == 0 ? "[" + Valid + "," + Valid + "]" : Valid;
        var builder = new StringBuilder(body);
        for (var edits = random.Next(1, 4); edits > 0 && builder.Length > 0; edits--)
        {
            var at = random.Next(builder.Length);
            switch (random.Next(5))
            {
                case 0: builder.Remove(at, Math.Min(builder.Length - at, random.Next(1, 8))); break;
                case 1: builder.Insert(at, Tokens[random.Next(Tokens.Length)]); break;
                case 2: builder[at] = (char)random.Next(32, 127); break;
                case 3: builder.Length = at; break;
                default: builder.Insert(at, new string('[', random.Next(1, 200))); break;
            }
        }

        return builder.ToString();
    }

    [Fact]
    public async Task TenThousandBadRequests_NeverGetA5xx_AndTheServerKeepsServing()
    {
        var random = new Random(20261126);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 10_000; i++)
        {
            using var content = new StringContent(Mutate(random), Encoding.UTF8);
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(ContentTypes[random.Next(ContentTypes.Length)]);
            using var response = await _client.PostAsync(Paths[random.Next(Paths.Length)], content);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"request {i} got {status}: {await response.Content.ReadAsStringAsync()}");
        }

        // Most of the corpus is rejected, by status and never by a crash.
        Assert.True(statuses.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) > 5_000, string.Join(", ", statuses));
        var after = await _client.PostAsync("/predict", new StringContent(Valid, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
