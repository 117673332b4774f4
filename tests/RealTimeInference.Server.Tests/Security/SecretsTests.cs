using System.Diagnostics;
using System.Text;

namespace RealTimeInference.Server.Tests.Security;

/// <summary>
/// The probe for leaks: a server configured with an API key, a JWT signing key, broker credentials,
/// and a webhook secret (the brokers unreachable, so their failures are logged) never shows any of
/// them in an answer — metrics, models, optimizer, health, V2 configuration, error bodies — or in a
/// log line; nor does a start that fails on an unreachable database show its password.
/// </summary>
public sealed class SecretsTests
{
    private static readonly string[] Secrets =
        ["probe-secret-key-7f3a9c01", "probe-secret-signing-key-of-32-chars-x9", "probe-secret-amqp-pw", "probe-secret-mqtt-pw", "probe-secret-webhook", "probe-secret-pg-pw"];

    [Fact]
    public async Task NoSecret_ReachesAnAnswerOrTheLog()
    {
        var (closed, closedToo) = (RealServer.FreePort(), RealServer.FreePort());
        using var server = await RealServer.StartAsync(
            "--Serilog:MinimumLevel:Default=Information",
            "--Security:ApiKeys:0:Key=" + Secrets[0],
            "--Security:ApiKeys:0:Role=engineer",
            "--Security:Jwt:SigningKey=" + Secrets[1],
            "--Ingestion:RabbitMq:Enabled=true",
            $"--Ingestion:RabbitMq:Uri=amqp://fab:{Secrets[2]}@127.0.0.1:{closed}/",
            "--Ingestion:Mqtt:Enabled=true",
            "--Ingestion:Mqtt:Host=127.0.0.1",
            $"--Ingestion:Mqtt:Port={closedToo}",
            "--Ingestion:Mqtt:Username=fab",
            "--Ingestion:Mqtt:Password=" + Secrets[3],
            $"--Alerts:Webhooks:0:Url=http://127.0.0.1:{closed}/hook",
            "--Alerts:Webhooks:0:Secret=" + Secrets[4]);
        using var client = new HttpClient { BaseAddress = server.Url };
        client.DefaultRequestHeaders.Add("X-Api-Key", Secrets[0]);

        // Until the unreachable brokers have been tried and logged.
        await server.WaitForOutputAsync(line => line.Contains("RabbitMQ", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        await server.WaitForOutputAsync(line => line.Contains("MQTT", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        var answers = new StringBuilder();
        foreach (var path in new[] { "/metrics", "/models", "/models/sensor-anomaly", "/optimizer", "/health/ready", "/v2", "/v2/models/sensor-anomaly/config", "/alerts", "/predictions?limit=1", "/swagger/v1/swagger.json" })
        {
            using var response = await client.GetAsync(path);
            answers.Append(path).Append(": ").AppendLine(await response.Content.ReadAsStringAsync());
        }

        foreach (var (path, body) in new[] { ("/predict", "{\"temperature\":"), ("/predict", "{\"temperature\":350,\"pressure\":1013,\"flow_rate\":100}"), ("/v2/models/sensor-anomaly/infer", "{]") })
        {
            using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            answers.Append(path).Append(": ").AppendLine(await response.Content.ReadAsStringAsync());
        }

        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/models") { Headers = { { "X-Api-Key", Secrets[0] + "x" } } };
        using var wrong = await new HttpClient { BaseAddress = server.Url }.SendAsync(wrongKey);
        answers.AppendLine(await wrong.Content.ReadAsStringAsync());

        Assert.True(Logged(server, "RabbitMQ"), string.Join("\n", server.Output.TakeLast(20)));
        var log = string.Join("\n", server.Output);
        foreach (var secret in Secrets)
        {
            Assert.DoesNotContain(secret, answers.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnUnreachableDatabase_FailsTheStart_NamingTheSetting_NotThePassword()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.dll"), "--urls", $"http://127.0.0.1:{RealServer.FreePort()}", "--Simulator:Enabled=false",
            "--Results:Store=postgres", $"--Results:ConnectionString=Host=127.0.0.1;Port={RealServer.FreePort()};Username=rti;Password={Secrets[5]};Timeout=1",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("Results:ConnectionString does not lead to a usable PostgreSQL database", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secrets[5], text, StringComparison.Ordinal);
    }

    private static bool Logged(RealServer server, string what) => server.Output.Any(line => line.Contains(what, StringComparison.Ordinal));
}
