-- Kazakhstan's first-level regions (ISO 3166-2:KZ): the default country.
-- Another country replaces them with `qorgau admin import regions FILE.csv`.
INSERT INTO regions (code, name_kk, name_ru, name_en) VALUES
	('KZ-10', 'Абай облысы', 'Абайская область', 'Abai Region'),
	('KZ-11', 'Ақмола облысы', 'Акмолинская область', 'Akmola Region'),
	('KZ-15', 'Ақтөбе облысы', 'Актюбинская область', 'Aktobe Region'),
	('KZ-19', 'Алматы облысы', 'Алматинская область', 'Almaty Region'),
	('KZ-23', 'Атырау облысы', 'Атырауская область', 'Atyrau Region'),
	('KZ-27', 'Батыс Қазақстан облысы', 'Западно-Казахстанская область', 'West Kazakhstan Region'),
	('KZ-31', 'Жамбыл облысы', 'Жамбылская область', 'Jambyl Region'),
	('KZ-33', 'Жетісу облысы', 'Жетысуская область', 'Jetisu Region'),
	('KZ-35', 'Қарағанды облысы', 'Карагандинская область', 'Karaganda Region'),
	('KZ-39', 'Қостанай облысы', 'Костанайская область', 'Kostanay Region'),
	('KZ-43', 'Қызылорда облысы', 'Кызылординская область', 'Kyzylorda Region'),
	('KZ-47', 'Маңғыстау облысы', 'Мангистауская область', 'Mangystau Region'),
	('KZ-55', 'Павлодар облысы', 'Павлодарская область', 'Pavlodar Region'),
	('KZ-59', 'Солтүстік Қазақстан облысы', 'Северо-Казахстанская область', 'North Kazakhstan Region'),
	('KZ-61', 'Түркістан облысы', 'Туркестанская область', 'Turkistan Region'),
	('KZ-62', 'Ұлытау облысы', 'Улытауская область', 'Ulytau Region'),
	('KZ-63', 'Шығыс Қазақстан облысы', 'Восточно-Казахстанская область', 'East Kazakhstan Region'),
	('KZ-71', 'Астана қаласы', 'город Астана', 'Astana City'),
	('KZ-75', 'Алматы қаласы', 'город Алматы', 'Almaty City'),
	('KZ-79', 'Шымкент қаласы', 'город Шымкент', 'Shymkent City');
