"""Names of Wind (WDS) tables alphazoo does not read.

A folder may hold any of them beside the tables the project reads: the loader ignores them
(and says so) instead of taking them for a misspelt table name. Collected from public code that
lists WDS tables (A-share basics, prices, derived indicators, margin trading, corporate events,
financial statements and notes, governance, holders, indices and their weights, consensus
estimates).
"""

from __future__ import annotations

OTHER_WIND_TABLES: frozenset[str] = frozenset(name.lower() for name in (
    "AIndexAlternativeMembers", "AIndexConsensusData", "AIndexConsensusRollingData",
    "AIndexCSI1000CloseWeight", "AIndexCSI100Weight", "AIndexCSI300DivdPitWeightPrice",
    "AIndexCSI500CloseWeight", "AIndexCSI500DivdPitWeightPrice", "AIndexCSI700Weight",
    "AIndexCSI800CloseWeight", "AIndexCSI800Weight", "AIndexDescription",
    "AIndexFinancialderivative", "AIndexIndustriesEODCITICS", "AIndexMembersCITICS",
    "AIndexMembersCITICS2", "AIndexMembersCITICS3", "AIndexMembersWIND", "AIndexSSE180Weight",
    "AIndexSSE50Weight", "AIndexValuation", "AIndexWindIndustriesEOD", "AMSCIIndexEOD",
    "ASarePlanTrade", "AShareAccountingChange", "AShareAdmPermitSchedule",
    "AShareAfterEODPrices", "AShareAgency", "AShareANNFinancialIndicator",
    "AShareAuditDescription", "AShareAuditOpinion", "AShareBankIndicator", "AShareBlockTrade",
    "AShareCapitalization", "AShareCapitalOperation", "AShareCNIIndustriesClass",
    "AShareCompanyHoldShares", "AShareCompRestricted", "AShareConsensusData",
    "AShareConsensusindex", "AShareConsensusRollingData", "AShareConseption",
    "AShareCorporateFinance", "AShareCSIndustriesClass", "AShareDividend",
    "AShareDivisionElimination", "AShareEarningEst", "AShareEnergyindex", "AShareEnergyindexADJ",
    "ASHAREEODINDUSTRIES", "AShareEquFroInfo", "AShareEquityDivision", "AShareEquityPledgeInfo",
    "AShareEquityRelationships", "AShareEsopDescription", "AShareEsopTradingInfo",
    "AShareEventdateinformation", "AShareEXRightDividendRecord", "AShareFinancialderivative",
    "AShareFinancialIndicator", "AShareFinSegmentinfo", "AShareFloatHolder", "AShareFreeFloat",
    "AShareFreeFloatCalendar", "AShareFundUsing", "AShareGICSIndustriesClass", "AShareGuarantee",
    "AShareHolderNumber", "AShareholdersmeeting", "AShareIBrokerIndicator", "AShareIllegality",
    "AShareIncDescription", "AShareIncExecQtyPri", "AShareIncExercisePct",
    "AShareIncQuantityDetails", "AShareIncQuantityPrice", "AShareIndusRating",
    "AShareIndustriesClass", "AShareInsideHolder", "AShareInsiderTrade",
    "AShareinstHolderDerData", "AShareInsuranceIndicator", "Ashareintensitytrend",
    "AshareintensitytrendADJ", "AShareIntroduction", "AShareIPO", "AShareIPOAmount",
    "AShareIPOClass", "AShareIPOPricingForecast", "AShareIPORoadshow", "AShareIssueCommAudit",
    "AShareIssuingDatePredict", "AShareL2Indicators", "AShareLeadUnderwriter",
    "AShareMajorEvent", "AShareMajorHolderPlanHold", "AShareManagement",
    "AShareManagementHoldReward", "AShareMarginShortFeeRate", "AShareMarginSubject",
    "AShareMarginTrade", "AShareMarginTradeSum", "AShareMarketOverallindex",
    "AShareMjrHolderTrade", "AShareMoneyFlow", "AShareMonthlyReportsofBrokers",
    "AShareMonthlyYield", "AShareMSCIMembers", "AShareNEIndustriesClass", "AShareOperationEvent",
    "AShareOwnership", "ASharePlacementDetails", "ASharePlacementInfo", "ASharePledgeproportion",
    "ASharePledgetrade", "ASharePreviousENName", "ASharePreviousName", "AShareProfitExpress",
    "AShareProfitNotice", "AShareProsecution", "AShareRalatedTrade", "AShareRegInv",
    "AShareRegional", "AShareReportperiodindex", "AshareRestructuringEvents", "AShareRightIssue",
    "AShareSECIndustriesClass", "AShareSECNIndustriesClass", "AShareSEO",
    "AShareSSEIndustriesClass", "AShareStaff", "AShareStaffStructure",
    "AShareSTIBConceptualPlate", "AShareSTIBEmergingIndustries", "AShareSTIBHolderVote",
    "AShareSTIBInterest", "AShareSTIBInvestmentIending", "AShareStockRating",
    "AShareStockRatingConsus", "AshareStockRepo", "AShareStockSwap", "AShareStrangeTrade",
    "AShareStrangeTradedetail", "AShareStyleCoefficient", "AShareSWIndustriesClass",
    "AShareswingReversetrend", "AShareswingReversetrendADJ", "AShareTechIndicators",
    "AShareTradingSuspension", "AShareTTMAndMRQ", "AShareTTMHis", "AShareWeeklyYield",
    "AShareWinning", "AShareYield", "ASPCITICIndexEOD", "ASWSIndexCloseWeight", "ASWSIndexEOD",
    "BankLoan5LClassification", "CBankDepositStructure", "CBankLoanStructure",
    "CompanyPreviousName", "IECMemberList", "IPOCompRFA", "IPODeclareDisclosureDate",
    "IPOInquiryDetails", "SHSCMembers", "SHSCSELLMembers", "SIndexPerformance", "SWIndexMembers",
    "SZSCMembers", "SZSCSELLMembers",
))
