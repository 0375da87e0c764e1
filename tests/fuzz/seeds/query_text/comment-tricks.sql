SELECT 1 /* ; */ AS x -- ; DELETE
;
