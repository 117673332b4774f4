using RealTimeInference.Server.Ingestion;

namespace RealTimeInference.Server.Tests.Ingestion;

public sealed class ReadingBudgetTests
{
    [Fact]
    public async Task AMessageWaits_UntilItsReadingsAreFree_AndLaterSmallOnesDoNotOvertakeIt()
    {
        var budget = new ReadingBudget(1000);
        var first = await budget.AcquireAsync(700, CancellationToken.None);

        var large = budget.AcquireAsync(600, CancellationToken.None).AsTask();
        var small = budget.AcquireAsync(100, CancellationToken.None).AsTask();
        Assert.False(large.IsCompleted);
        Assert.False(small.IsCompleted); // 300 are free, but the large one came first

        first.Dispose();
        (await large.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        (await small.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task AMessageLargerThanTheBudget_TakesTheWholeBudget()
    {
        var budget = new ReadingBudget(100);
        var whole = await budget.AcquireAsync(5000, CancellationToken.None);
        var next = budget.AcquireAsync(1, CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);

        whole.Dispose();
        (await next.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        using var all = await budget.AcquireAsync(100, CancellationToken.None);
    }

    [Fact]
    public async Task ACancelledWaiter_GivesUpItsPlace_AndTakesNothing()
    {
        var budget = new ReadingBudget(10);
        var held = await budget.AcquireAsync(10, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(5, cancel.Token).AsTask();
        var after = budget.AcquireAsync(10, CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();

        (await after.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        using var all = await budget.AcquireAsync(10, CancellationToken.None);
    }
}
