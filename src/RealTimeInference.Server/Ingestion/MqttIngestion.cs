using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Alerts;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Ingestion;

/// <summary>
/// Readings from MQTT gateways (Ingestion:Mqtt), QoS 1 on a persistent session: what is published while
/// the server is away waits in the broker. Each message on <c>fab/&lt;tool_id&gt;/&lt;chamber_id&gt;/readings</c>
/// — readings with context, or in the seed's shape, where the second level is the sensor — is scored
/// (the topic names the tool and chamber or sensor of readings that name none), its prediction published to
/// <c>fab/&lt;tool_id&gt;/&lt;chamber_id&gt;/predictions</c> and its results stored, and only then acknowledged —
/// in the order messages arrived, as MQTT asks, while up to ReceiveMaximum are scored concurrently so
/// batches fill. MQTT cannot hand a message back: an overloaded one is held and scored again after
/// Ingestion:RetryBackoff; a malformed one, or one whose context no rule routes, is answered on
/// <c>.../errors</c> with the field at fault and acknowledged.
/// Every alert change is published to <c>fab/&lt;tool_id&gt;/alerts</c> (as <c>/stream-alerts</c> sends it) while connected.
/// </summary>
internal sealed partial class MqttIngestion(
    BrokerScoring scoring, AlertFeed alerts, IngestMetrics metrics, IOptions<IngestionOptions> options, TimeProvider time, ILogger<MqttIngestion> logger) : BackgroundService
{
    private readonly IngestionOptions _options = options.Value;
    private readonly Channel<(MqttApplicationMessageReceivedEventArgs Message, Task<bool> Handled)> _acks =
        Channel.CreateUnbounded<(MqttApplicationMessageReceivedEventArgs, Task<bool>)>(new UnboundedChannelOptions { SingleReader = true });

    private volatile bool _connected;

    public bool Enabled => _options.Mqtt.Enabled;

    public bool Connected => _connected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var settings = _options.Mqtt;
        using var client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(settings.Host, settings.Port)
            .WithClientId(settings.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)settings.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum(settings.ReceiveMaximum);
        if (settings.Username is not null)
        {
            builder = builder.WithCredentials(settings.Username, settings.Password);
        }

        var clientOptions = builder.Build();
        client.ApplicationMessageReceivedAsync += message =>
        {
            message.AutoAcknowledge = false;
            metrics.InFlight(Transports.Mqtt, 1);
            return _acks.Writer.WriteAsync((message, HandleAsync(client, message, stoppingToken)), stoppingToken).AsTask();
        };
        client.DisconnectedAsync += e =>
        {
            _connected = false;
            if (!stoppingToken.IsCancellationRequested)
            {
                LogDisconnected(logger, e.ReasonString ?? e.Reason.ToString());
            }

            return Task.CompletedTask;
        };

        var acknowledging = AcknowledgeInOrderAsync(stoppingToken);
        var alerting = PublishAlertsAsync(client, stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!client.IsConnected)
                {
                    await ConnectAsync(client, clientOptions, settings, stoppingToken).ConfigureAwait(false);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: unacknowledged messages stay with the broker's session.
        }
        finally
        {
            _connected = false;
            _acks.Writer.TryComplete();
            await acknowledging.ConfigureAwait(false);
            await alerting.ConfigureAwait(false);
            if (client.IsConnected)
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task ConnectAsync(IMqttClient client, MqttClientOptions clientOptions, MqttOptions settings, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var connected = await client.ConnectAsync(clientOptions, stoppingToken).ConfigureAwait(false);
                if (!connected.IsSessionPresent)
                {
                    await client.SubscribeAsync(
                        new MqttClientSubscribeOptionsBuilder().WithTopicFilter(settings.Topic, MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                        stoppingToken).ConfigureAwait(false);
                }

                _connected = true;
                LogConnected(logger, settings.Host, settings.Port, settings.Topic, connected.IsSessionPresent);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogUnreachable(logger, settings.Host, backoff.TotalMilliseconds, ex.Message);
                await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(_options.MaxReconnectBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>MQTT acknowledges in the order messages arrived: each waits for those before it.</summary>
    private async Task AcknowledgeInOrderAsync(CancellationToken stoppingToken)
    {
        await foreach (var (message, handled) in _acks.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                if (await handled.ConfigureAwait(false) && !stoppingToken.IsCancellationRequested)
                {
                    await message.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The connection went: the broker delivers the message again with the session.
                LogNotAcknowledged(logger, message.PacketIdentifier, ex.Message);
            }
            finally
            {
                metrics.InFlight(Transports.Mqtt, -1);
            }
        }
    }

    /// <summary>Scores the message until it is answered (or refused); true when it may be acknowledged.</summary>
    private async Task<bool> HandleAsync(IMqttClient client, MqttApplicationMessageReceivedEventArgs received, CancellationToken stoppingToken)
    {
        var message = received.ApplicationMessage;
        var body = message.Payload.IsSingleSegment ? message.Payload.First : message.Payload.ToArray();
        var levels = message.Topic.Split('/');
        (string, string)? topic = levels.Length == 4 ? (levels[1], levels[2]) : null;
        var messageId = BrokerScoring.MessageId(Property(message, "message_id"), body.Span);
        try
        {
            while (true)
            {
                var result = await scoring.ScoreAsync(
                    body, PredictionSource.Mqtt, messageId, Property(message, "x-latency-class"), Property(message, "x-deadline-ms"), topic, stoppingToken).ConfigureAwait(false);
                var tool = result.ToolId ?? topic?.Item1 ?? "unknown";
                var sensor = result.Subject ?? topic?.Item2 ?? "unknown";
                if (result.Outcome == Outcome.Ok)
                {
                    await PublishAsync(client, $"fab/{tool}/{sensor}/predictions", result.Answer!, stoppingToken).ConfigureAwait(false);
                    if (await result.Stored.ConfigureAwait(false))
                    {
                        metrics.Handled(Transports.Mqtt, result.Outcome.Label(), result.Readings);
                        return true;
                    }

                    metrics.Handled(Transports.Mqtt, "store_unavailable", result.Readings);
                }
                else if (result.Outcome is Outcome.Invalid or Outcome.TooLarge or Outcome.NoRoute)
                {
                    await PublishAsync(client, $"fab/{tool}/{sensor}/errors", System.Text.Encoding.UTF8.GetBytes(result.Why), stoppingToken).ConfigureAwait(false);
                    metrics.Handled(Transports.Mqtt, result.Outcome.Label(), 0);
                    return true;
                }
                else
                {
                    metrics.Handled(Transports.Mqtt, result.Outcome.Label(), result.Readings);
                    if (result.Outcome == Outcome.Cancelled)
                    {
                        return false;
                    }
                }

                // Overload, a deadline, no model, results not stored: hold it and try again.
                await Task.Delay(_options.RetryBackoff, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
        {
            // Stopping, or the broker went: unacknowledged, it comes again with the session.
            return false;
        }
    }

    /// <summary>Alert changes to <c>fab/&lt;tool_id&gt;/alerts</c>; one that cannot be sent (not connected) is counted, as a slow SSE subscriber's are.</summary>
    private async Task PublishAlertsAsync(IMqttClient client, CancellationToken stoppingToken)
    {
        using var subscription = alerts.Subscribe(after: null);
        try
        {
            await foreach (var (_, change) in subscription.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new AlertChangeItem(change.Event.Kind, AlertItem.From(change.Alert)), AlertJsonContext.Default.AlertChangeItem);
                try
                {
                    await PublishAsync(client, $"fab/{change.Alert.ToolId ?? "unknown"}/alerts", body, stoppingToken).ConfigureAwait(false);
                    metrics.Handled(Transports.Mqtt, "alert_published", 0);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    metrics.Handled(Transports.Mqtt, "alert_not_published", 0);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private static Task PublishAsync(IMqttClient client, string topic, byte[] payload, CancellationToken cancellationToken) =>
        client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            cancellationToken);

    private static string? Property(MqttApplicationMessage message, string name) =>
        message.UserProperties?.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))?.ReadValueAsString();

    [LoggerMessage(EventId = LogEvents.IngestionMqttConnected, Level = LogLevel.Information, Message = "MQTT connected to {Host}:{Port}, topic {Topic} (session resumed: {SessionPresent})")]
    private static partial void LogConnected(ILogger logger, string host, int port, string topic, bool sessionPresent);

    [LoggerMessage(EventId = LogEvents.IngestionMqttUnreachable, Level = LogLevel.Warning, Message = "MQTT broker {Host} is unreachable; trying again in {BackoffMs} ms: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string host, double backoffMs, string error);

    [LoggerMessage(EventId = LogEvents.IngestionMqttDisconnected, Level = LogLevel.Warning, Message = "MQTT connection lost ({Reason}); reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.IngestionMqttNotAcknowledged, Level = LogLevel.Warning, Message = "MQTT message {PacketId} not acknowledged, it comes again with the session: {Error}")]
    private static partial void LogNotAcknowledged(ILogger logger, ushort packetId, string error);
}
