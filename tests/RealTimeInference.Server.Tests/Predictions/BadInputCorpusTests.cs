using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Tests.Wafers;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class BadInputCorpusTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Valid = """{"timestamp":"2026-01-01T00:00:00Z","temperature":350.5,"pressure":1013.2,"flow_rate":100.1,"tool_id":"t1"}""";

    private static readonly string[] Tokens =
        ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "NaN", "-Infinity", "1e400", "-0", "\\u0000", "\"temperature\"", "99999999999999999999", "\uFFFF", " "];

    private static readonly string[] Paths = ["/predict", "/predict-batch", "/baseline/predict", "/baseline/predict-batch", "/predict-wafer", "/predict-yield"];

    private static readonly string[] ContentTypes =
        ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml", "application/x-www-form-urlencoded", "application/problem+json"];

    private static readonly string[] ImageContentTypes = ["image/png", "image/jpeg", "application/octet-stream", "multipart/form-data; boundary=x"];

    private static readonly (string Name, string Value)[] UrgencyHeaders =
    [
        ("X-Latency-Class", "emergency"), ("X-Latency-Class", "soon"), ("X-Latency-Class", ""), ("X-Deadline-Ms", "0"),
        ("X-Deadline-Ms", "-1"), ("X-Deadline-Ms", "1e308"), ("X-Deadline-Ms", "NaN"), ("X-Deadline-Ms", "250"),
    ];

    private static readonly byte[] Png = WaferImages.Png(WaferPattern.Scratch);

    private readonly HttpClient _client = server.CreateClient();

    /// <summary>Deterministic garbage: mutations of a valid reading, arrays of them, and odd shapes.</summary>
    private static string Mutate(Random random)
    {
        var body = random.Next(3) == 0 ? "[" + Valid + "," + Valid + "]" : Valid;
        return CorpusMutations.Mutate(random, body, Tokens);
    }

    /// <summary>A wafer image with bytes flipped, cut short, or replaced by a JSON reading.</summary>
    private static byte[] MutateImage(Random random)
    {
        var bytes = (byte[])Png.Clone();
        switch (random.Next(4))
        {
            case 0:
                for (var flips = random.Next(1, 16); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                return bytes;
            case 1: return bytes[..random.Next(bytes.Length)];
            case 2: return Encoding.UTF8.GetBytes(Mutate(random));
            default: return [];
        }
    }

    [Fact]
    public async Task TenThousandBadRequests_NeverGetA5xx_AndTheServerKeepsServing()
    {
        var random = new Random(20261126);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 10_000; i++)
        {
            var path = Paths[random.Next(Paths.Length)];
            using var content = path == "/predict-wafer" ? new ByteArrayContent(MutateImage(random)) : new StringContent(Mutate(random), Encoding.UTF8);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(
                path == "/predict-wafer" ? ImageContentTypes[random.Next(ImageContentTypes.Length)] : ContentTypes[random.Next(ContentTypes.Length)]);
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            if (random.Next(4) == 0)
            {
                var (name, value) = UrgencyHeaders[random.Next(UrgencyHeaders.Length)];
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _client.SendAsync(request);
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
