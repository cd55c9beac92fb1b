// The registering module is imported first, the feature modules after it.
import { Module } from '@nestjs/common';
import { AsyncBreakersModule, BreakersModule } from './breakers.module.js';
import { InventoryModule, ReportsModule } from './inventory.module.js';
import { PaymentsModule } from './payments.module.js';

@Module({ imports: [PaymentsModule, InventoryModule, ReportsModule, BreakersModule] })
export class AppModule {}

@Module({ imports: [PaymentsModule, InventoryModule, ReportsModule, AsyncBreakersModule] })
export class AsyncAppModule {}
