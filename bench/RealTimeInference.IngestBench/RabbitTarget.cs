using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace RealTimeInference.IngestBench;

/// <summary>
/// RabbitMQ: persistent messages on the readings queue (declared as the server declares it), with
/// publisher confirms over one or more channels; results counted from a queue of our own bound to
/// <c>rti.predictions</c> with <c>#</c>. Baseline: this consumer reads the readings queue itself
/// (manual acks, one per message, as the server acknowledges) and no server runs.
/// </summary>
internal sealed class RabbitTarget(
    IConnection publishing, IConnection consuming, IChannel[] publishers, IChannel consumer, string queue, string resultsQueue, byte[][] bodies, bool baseline, int readingsPerMessage)
    : ITarget
{
    public const string ResultsExchange = "rti.predictions";
    private const string DeadLetterExchange = "rti.readings.dlx";

    private volatile Tracker? _tracker;

    public int ReadingsPerMessage => readingsPerMessage;

    public static async Task<RabbitTarget> ConnectAsync(
        Uri uri, string queue, int readingsPerMessage, int publisherCount, ushort prefetch, bool baseline, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = uri, ClientProvidedName = "ingest-bench" };
        var publishing = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        var consuming = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        var channels = new IChannel[publisherCount];
        for (var i = 0; i < publisherCount; i++)
        {
            // Our own window (--in-flight) bounds unconfirmed publishes, not the client's throttling limiter.
            channels[i] = await publishing.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null),
                cancellationToken).ConfigureAwait(false);
        }

        var consumer = await consuming.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await consumer.ExchangeDeclareAsync(ResultsExchange, ExchangeType.Topic, durable: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        await consumer.ExchangeDeclareAsync(DeadLetterExchange, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        // The same queue the server declares when absent: durable, quorum, dead-lettering to its exchange.
        await consumer.QueueDeclareAsync(
            queue,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum", ["x-dead-letter-exchange"] = DeadLetterExchange },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var results = (await consumer.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken).ConfigureAwait(false)).QueueName;
        await consumer.QueueBindAsync(results, ResultsExchange, "#", cancellationToken: cancellationToken).ConfigureAwait(false);

        var target = new RabbitTarget(publishing, consuming, channels, consumer, queue, results, Readings.Bodies(readingsPerMessage, readingsPerMessage == 1 ? 4096 : 16, 20_260_101), baseline, readingsPerMessage);
        await consumer.BasicQosAsync(0, prefetch, false, cancellationToken).ConfigureAwait(false);
        var subscription = new AsyncEventingBasicConsumer(consumer);
        subscription.ReceivedAsync += target.OnReceivedAsync;
        await consumer.BasicConsumeAsync(baseline ? queue : results, autoAck: !baseline, subscription, cancellationToken).ConfigureAwait(false);
        return target;
    }

    public async Task PrepareAsync(Tracker tracker, CancellationToken cancellationToken)
    {
        // Drop what an earlier run left ready; late results of it count as strays.
        await consumer.QueuePurgeAsync(queue, cancellationToken).ConfigureAwait(false);
        await consumer.QueuePurgeAsync(resultsQueue, cancellationToken).ConfigureAwait(false);
        _tracker = tracker;
    }

    public async Task PublishAsync(int seq, string messageId, CancellationToken cancellationToken)
    {
        var properties = new BasicProperties { MessageId = messageId, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await publishers[seq % publishers.Length].BasicPublishAsync("", queue, mandatory: false, properties, bodies[seq % bodies.Length], cancellationToken)
            .ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in publishers)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }

        await consumer.DisposeAsync().ConfigureAwait(false);
        await publishing.DisposeAsync().ConfigureAwait(false);
        await consuming.DisposeAsync().ConfigureAwait(false);
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        _tracker?.Received(delivery.BasicProperties.MessageId ?? Readings.MessageId(delivery.Body.Span));
        if (baseline)
        {
            await consumer.BasicAckAsync(delivery.DeliveryTag, multiple: false).ConfigureAwait(false);
        }
    }
}
