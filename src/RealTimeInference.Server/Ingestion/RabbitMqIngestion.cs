using System.Text;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Ingestion;

/// <summary>
/// Consumes readings from RabbitMQ (Ingestion:RabbitMq), at least once: each message (readings with
/// context or in the seed's shape) is scored, its result published to the topic exchange
/// <see cref="ResultsExchange"/> (routing key tool.chamber, or tool.sensor) with a publisher confirm and
/// its predictions stored, and only then acknowledged. A malformed message, or one whose context no
/// rule routes, goes to the dead-letter exchange with <see cref="ErrorHeader"/> naming the field at fault; an overloaded one goes back to
/// the queue after Ingestion:RetryBackoff. Each consumer keeps Prefetch messages in flight and handles
/// them concurrently, so the model's micro-batcher fills its batches. A broker that is away is
/// reconnected to with backoff (the client recovers the connection, channels and consumers) while
/// HTTP keeps serving and readiness says Degraded.
/// </summary>
internal sealed partial class RabbitMqIngestion(
    BrokerScoring scoring, IngestMetrics metrics, IOptions<IngestionOptions> options, TimeProvider time, ILogger<RabbitMqIngestion> logger) : BackgroundService
{
    public const string ResultsExchange = "rti.predictions";
    public const string DeadLetterExchange = "rti.readings.dlx";
    public const string DeadLetterQueue = "rti.readings.dead";
    public const string ErrorHeader = "x-rti-error";

    private readonly IngestionOptions _options = options.Value;
    private volatile bool _connected;

    public bool Enabled => _options.RabbitMq.Enabled;

    /// <summary>Whether the consumers are attached to a live connection.</summary>
    public bool Connected => _connected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var settings = _options.RabbitMq;
        var factory = new ConnectionFactory
        {
            Uri = settings.Uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
            // RabbitMQ.Client 7.2 can wedge a connection whose broker goes away while writes are queued
            // (results and acks, at full speed): its socket writer dies and every queued write waits
            // forever, so the loss is never noticed and nothing recovers (rabbitmq-dotnet-client#1930).
            // Only the missed-heartbeat check ends it, after three heartbeats: 15 s with these.
            RequestedHeartbeat = TimeSpan.FromSeconds(5),
            ClientProvidedName = "rti-server",
            // Larger messages are read and dead-lettered with a reason rather than failing the connection.
            MaxInboundMessageBodySize = (uint)Math.Min(int.MaxValue, Math.Max(_options.MaxMessageBytes * 4L, 64L * 1024 * 1024)),
        };
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeAsync(factory, settings, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: unacknowledged messages go back to the queue when the connection closes.
            }
#pragma warning disable CA1031 // The last-resort guard: whatever went wrong while setting up, HTTP keeps serving and this tries again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _connected = false;
                LogUnreachable(logger, settings.Uri.Host, backoff.TotalMilliseconds, ex.Message);
                await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(_options.MaxReconnectBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>Connects, declares, attaches the consumers and samples the lag until stopped; the client recovers a lost connection by itself.</summary>
    private async Task ConsumeAsync(ConnectionFactory factory, RabbitMqOptions settings, CancellationToken stoppingToken)
    {
        try
        {
            await using var connection = await factory.CreateConnectionAsync(stoppingToken).ConfigureAwait(false);
            connection.ConnectionShutdownAsync += (_, e) =>
            {
                _connected = false;
                LogDisconnected(logger, e.ReplyText);
                return Task.CompletedTask;
            };
            connection.RecoverySucceededAsync += (_, _) =>
            {
                _connected = true;
                LogReconnected(logger);
                return Task.CompletedTask;
            };
            await DeclareAsync(connection, settings.Queue, stoppingToken).ConfigureAwait(false);
            for (var i = 0; i < settings.Consumers; i++)
            {
                var channel = await connection.CreateChannelAsync(
                    // Prefetch already bounds the results awaiting confirms: the client's own limiter (which
                    // delays publishes past 64 outstanding and throws past 256) would only stall them.
                    new CreateChannelOptions(
                        publisherConfirmationsEnabled: true,
                        publisherConfirmationTrackingEnabled: true,
                        outstandingPublisherConfirmationsRateLimiter: null,
                        consumerDispatchConcurrency: settings.Prefetch),
                    stoppingToken).ConfigureAwait(false);
                await channel.BasicQosAsync(0, settings.Prefetch, false, stoppingToken).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) => HandleAsync(channel, delivery, stoppingToken);
                await channel.BasicConsumeAsync(settings.Queue, autoAck: false, consumer, stoppingToken).ConfigureAwait(false);
            }

            _connected = true;
            LogConsuming(logger, settings.Queue, settings.Consumers, settings.Prefetch);
            await SampleLagAsync(connection, settings.Queue, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            _connected = false;
        }
    }

    /// <summary>The results exchange, the dead-letter exchange and its queue, and the readings queue when absent (durable, quorum).</summary>
    private static async Task DeclareAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await channel.ExchangeDeclareAsync(ResultsExchange, ExchangeType.Topic, durable: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.ExchangeDeclareAsync(DeadLetterExchange, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(DeadLetterQueue, DeadLetterExchange, "", cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationInterruptedException)
            {
                // Absent (404): the failed check closed this channel; declare it on another.
            }
        }

        await using var declaring = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await declaring.QueueDeclareAsync(
            queue,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum", ["x-dead-letter-exchange"] = DeadLetterExchange },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The queue's ready messages once a second: the consumers' lag.</summary>
    private async Task SampleLagAsync(IConnection connection, string queue, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        IChannel? channel = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    channel ??= await connection.CreateChannelAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                    metrics.Lag((await channel.QueueDeclarePassiveAsync(queue, stoppingToken).ConfigureAwait(false)).MessageCount);
                }
                catch (Exception) when (!stoppingToken.IsCancellationRequested)
                {
                    // Away, or a connection the client is tearing down (its queued writes are cancelled: an
                    // OperationCanceledException): the next sample tries a fresh channel. Escaping, it would
                    // end the consuming and drop a connection that the client is about to recover.
                    channel = null;
                }
            }
        }
        finally
        {
            if (channel is not null)
            {
                await channel.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task HandleAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stoppingToken)
    {
        metrics.InFlight(Transports.RabbitMq, 1);
        var outcome = "";
        var readings = 0;
        try
        {
            var properties = delivery.BasicProperties;
            var body = delivery.Body;
            var messageId = BrokerScoring.MessageId(properties.MessageId, body.Span);
            var result = await scoring.ScoreAsync(
                body, PredictionSource.RabbitMq, messageId, Header(properties, "x-latency-class"), Header(properties, "x-deadline-ms"), topic: null, stoppingToken).ConfigureAwait(false);
            readings = result.Readings;
            outcome = result.Outcome.Label();
            switch (result.Outcome)
            {
                case Outcome.Ok:
                    await channel.BasicPublishAsync(
                        ResultsExchange,
                        $"{result.ToolId ?? "unknown"}.{result.Subject ?? "unknown"}",
                        mandatory: false,
                        new BasicProperties { MessageId = messageId, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent },
                        result.Answer,
                        stoppingToken).ConfigureAwait(false);
                    if (await result.Stored.ConfigureAwait(false))
                    {
                        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, stoppingToken).ConfigureAwait(false);
                    }
                    else
                    {
                        outcome = "store_unavailable";
                        await RequeueAsync(channel, delivery, stoppingToken).ConfigureAwait(false);
                    }

                    break;
                case Outcome.Invalid or Outcome.TooLarge or Outcome.NoRoute:
                    var headers = new Dictionary<string, object?>(properties.Headers ?? new Dictionary<string, object?>())
                    {
                        [ErrorHeader] = result.Why,
                    };
                    await channel.BasicPublishAsync(
                        DeadLetterExchange,
                        delivery.RoutingKey,
                        mandatory: false,
                        new BasicProperties { MessageId = properties.MessageId, ContentType = properties.ContentType, DeliveryMode = DeliveryModes.Persistent, Headers = headers },
                        body,
                        stoppingToken).ConfigureAwait(false);
                    await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, stoppingToken).ConfigureAwait(false);
                    break;
                case Outcome.Cancelled:
                    await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, CancellationToken.None).ConfigureAwait(false);
                    break;
                default:
                    // Overload, a deadline, no model, a failed run: not lost, not dropped — tried again later.
                    await RequeueAsync(channel, delivery, stoppingToken).ConfigureAwait(false);
                    break;
            }
        }
#pragma warning disable CA1031 // The last-resort guard: whatever failed, the message is not acknowledged and comes again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Stopping, or the channel or its connection's writer went away, or the result was not confirmed:
            // unacknowledged, the message is delivered again (to this server or another) and its stored rows are not doubled.
            outcome = ex is OperationCanceledException ? Outcome.Cancelled.Label() : "broker_error";
            LogNotAcknowledged(logger, delivery.DeliveryTag, ex.Message);
            await TryRequeueAsync(channel, delivery).ConfigureAwait(false);
        }
        finally
        {
            metrics.InFlight(Transports.RabbitMq, -1);
            metrics.Handled(Transports.RabbitMq, outcome, readings);
        }
    }

    private async Task RequeueAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stoppingToken)
    {
        await Task.Delay(_options.RetryBackoff, time, stoppingToken).ConfigureAwait(false);
        await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, stoppingToken).ConfigureAwait(false);
    }

    private static async Task TryRequeueAsync(IChannel channel, BasicDeliverEventArgs delivery)
    {
        try
        {
            if (channel.IsOpen)
            {
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException)
        {
            // Closed meanwhile: the broker requeues what was not acknowledged.
        }
    }

    /// <summary>A string header (AMQP carries them as bytes).</summary>
    private static string? Header(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.TryGetValue(name, out var value) == true
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => null,
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
            }
            : null;

    [LoggerMessage(EventId = LogEvents.IngestionConsuming, Level = LogLevel.Information, Message = "Consuming readings from RabbitMQ queue {Queue}: {Consumers} consumers, {Prefetch} messages in flight each")]
    private static partial void LogConsuming(ILogger logger, string queue, int consumers, int prefetch);

    [LoggerMessage(EventId = LogEvents.IngestionUnreachable, Level = LogLevel.Warning, Message = "RabbitMQ at {Host} is unreachable; trying again in {BackoffMs} ms: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string host, double backoffMs, string error);

    [LoggerMessage(EventId = LogEvents.IngestionDisconnected, Level = LogLevel.Warning, Message = "RabbitMQ connection lost ({Reason}); recovering")]
    private static partial void LogDisconnected(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.IngestionReconnected, Level = LogLevel.Information, Message = "RabbitMQ connection recovered")]
    private static partial void LogReconnected(ILogger logger);

    [LoggerMessage(EventId = LogEvents.IngestionNotAcknowledged, Level = LogLevel.Warning, Message = "Message {DeliveryTag} not acknowledged, it will be delivered again: {Error}")]
    private static partial void LogNotAcknowledged(ILogger logger, ulong deliveryTag, string error);
}
