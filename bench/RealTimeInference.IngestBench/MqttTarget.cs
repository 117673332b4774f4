using System.Buffers;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace RealTimeInference.IngestBench;

/// <summary>
/// MQTT 5: one reading a message, QoS 1, on <c>fab/&lt;tool&gt;/&lt;sensor&gt;/readings</c> with the user
/// property <c>message_id</c>; results counted from <c>fab/+/+/predictions</c> (QoS 1) by the body's
/// <c>message_id</c>. Baseline: the subscriber takes <c>fab/+/+/readings</c> itself and no server runs.
/// </summary>
internal sealed class MqttTarget : ITarget
{
    private readonly IMqttClient _publisher;
    private readonly IMqttClient _subscriber;
    private readonly byte[][] _bodies = Readings.Bodies(1, 4096, 20_260_102);
    private readonly string[] _topics;
    private volatile Tracker? _tracker;

    private MqttTarget(IMqttClient publisher, IMqttClient subscriber)
    {
        _publisher = publisher;
        _subscriber = subscriber;
        _topics = [.. Enumerable.Range(0, _bodies.Length).Select(i => Readings.Source(i) is var (tool, sensor) ? $"fab/{tool}/{sensor}/readings" : "")];
    }

    public int ReadingsPerMessage => 1;

    public static async Task<MqttTarget> ConnectAsync(string host, int port, bool baseline, CancellationToken cancellationToken)
    {
        var factory = new MqttClientFactory();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var publisher = factory.CreateMqttClient();
        var subscriber = factory.CreateMqttClient();
        var target = new MqttTarget(publisher, subscriber);
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            var message = e.ApplicationMessage;
            var id = message.UserProperties?.FirstOrDefault(p => p.Name == "message_id")?.ReadValueAsString();
            target._tracker?.Received(id ?? Readings.MessageId(message.Payload.IsSingleSegment ? message.Payload.FirstSpan : message.Payload.ToArray()));
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(Options(host, port, "ingest-bench-sub-" + suffix), cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(
            new MqttClientSubscribeOptionsBuilder().WithTopicFilter(baseline ? "fab/+/+/readings" : "fab/+/+/predictions", MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            cancellationToken).ConfigureAwait(false);
        await publisher.ConnectAsync(Options(host, port, "ingest-bench-pub-" + suffix), cancellationToken).ConfigureAwait(false);
        return target;
    }

    public Task PrepareAsync(Tracker tracker, CancellationToken cancellationToken)
    {
        _tracker = tracker;
        return Task.CompletedTask;
    }

    public async Task PublishAsync(int seq, string messageId, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_topics[seq % _topics.Length])
            .WithPayload(_bodies[seq % _bodies.Length])
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithUserProperty("message_id", Encoding.UTF8.GetBytes(messageId).AsMemory())
            .Build();
        var result = await _publisher.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"PUBACK {result.ReasonCode}: {result.ReasonString}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in new[] { _publisher, _subscriber })
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
            }

            client.Dispose();
        }
    }

    /// <summary>A clean session that ends with the connection; the largest receive maximum so the broker holds nothing back.</summary>
    private static MqttClientOptions Options(string host, int port, string clientId) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithReceiveMaximum(ushort.MaxValue)
            .Build();
}
